// The schema of lit::fused_basic_block, declared once. Kernels are registered per device in
// cpu/fused_basic_block_cpu.cpp (CPU) and cuda/fused_basic_block_cuda.cu (CUDA); the input checks
// they share are in checks.cpp; the fake (meta) kernel lives in Python (lit_bench/ops.py).
#include <torch/library.h>

TORCH_LIBRARY(lit, m) {
  m.def(
      "fused_basic_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride) -> Tensor");
  m.def(
      "fused_basic_block.out(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride, *, Tensor(a!) out) -> Tensor(a!)");
}
