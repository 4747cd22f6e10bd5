// lit_emu::fused_basic_block: the CUDA kernels of lit::fused_basic_block run on the host emulator.
// Same planning (make_params, use_mma, plan_tiles) and the same kernel source as the GPU build;
// `sms` steers the tile choice (large -> tile 4, small -> tile 8), `allow_mma` the kernel choice.
#include "cuda_emulator.h"
// (the emulator header must come first: it defines the CUDA keywords the kernels use)
#include <torch/library.h>

#include <limits>
#include <vector>

#include "cuda/fused_basic_block_kernels.cuh"

namespace {

using namespace lit;
using namespace lit::fused_detail;

template <typename T>
void run(Params p, const DeviceInfo& dev, bool mma) {
  const size_t smem = plan_tiles(p, dev, mma, sizeof(T));
  const int blocks = p.n * p.tiles_y * p.tiles_x;
  if constexpr (!std::is_same_v<T, float>) {
    if (mma) {
      if (p.cout % 32 == 0) {
        lit_emu::launch(block_mma<T, 4>, p, blocks, kMmaThreads, smem);
      } else {
        lit_emu::launch(block_mma<T, 2>, p, blocks, kMmaThreads, smem);
      }
      return;
    }
  }
  lit_emu::launch(block_simt<T>, p, blocks, kSimtThreads, smem);
}

DeviceInfo emulated_device(int64_t sms, bool allow_mma) {
  return {static_cast<int>(sms), allow_mma ? 9 : 7, 227 * 1024};  // an H100-like budget
}

at::Tensor emulated(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                    const at::Tensor& w2, const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
                    const c10::optional<at::Tensor>& bs, int64_t shortcut, int64_t stride,
                    int64_t sms, bool allow_mma) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  at::Tensor out = empty_out(x, s).fill_(std::numeric_limits<float>::quiet_NaN());
  const Params p = make_params(x, w1, b1, w2, b2, ws, bs, out, s);
  const DeviceInfo dev = emulated_device(sms, allow_mma);
  const bool mma = use_mma(p, x.scalar_type(), dev);
  switch (x.scalar_type()) {
    case at::kFloat:
      run<float>(p, dev, false);
      break;
    case at::kHalf:
      run<at::Half>(p, dev, mma);
      break;
    default:
      run<at::BFloat16>(p, dev, mma);
  }
  return out;
}

// [uses tensor cores (0/1), tile side] for the same arguments.
std::vector<int64_t> plan(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                          const at::Tensor& w2, const at::Tensor& b2,
                          const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                          int64_t shortcut, int64_t stride, int64_t sms, bool allow_mma) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  at::Tensor out = empty_out(x, s);
  Params p = make_params(x, w1, b1, w2, b2, ws, bs, out, s);
  const DeviceInfo dev = emulated_device(sms, allow_mma);
  const bool mma = use_mma(p, x.scalar_type(), dev);
  const size_t elem = x.element_size();
  plan_tiles(p, dev, mma, elem);
  return {mma ? 1 : 0, p.tile};
}

}  // namespace

TORCH_LIBRARY(lit_emu, m) {
  m.def(
      "fused_basic_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride, int sms, bool allow_mma) -> Tensor",
      &emulated);
  m.def(
      "plan(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, Tensor? bs, "
      "int shortcut, int stride, int sms, bool allow_mma) -> int[]",
      &plan);
}
