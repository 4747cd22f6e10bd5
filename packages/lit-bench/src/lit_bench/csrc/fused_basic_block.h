// Shared declarations for lit::fused_basic_block (schema in ops.cpp, kernels in cpu/ and cuda/).
//
// The op computes, for inference, one CIFAR ResNet BasicBlock with BatchNorm already folded:
//
//   out = relu( conv3x3( relu( conv3x3_s(x; w1) + b1 ); w2 ) + b2 + shortcut(x) )
//
//   shortcut mode 0: identity (Cin == Cout, stride 1)
//   shortcut mode 1: option A  x[:, :, ::s, ::s], zero channel padding (Cout-Cin)/2 before
//   shortcut mode 2: option B  conv1x1_s(x; ws) + bs
//
// Layouts (the contract the kernels rely on; check_inputs() enforces it):
//   x    [N, Cin, H, W]      channels_last-contiguous (NHWC in memory), fp32 / fp16 / bf16
//   w1   [Cmid, Cin, 3, 3]   channels_last-contiguous (OHWI in memory), dtype of x
//   w2   [Cout, Cmid, 3, 3]  channels_last-contiguous (OHWI in memory), dtype of x
//   b1 [Cmid], b2 [Cout]     dtype of x
//   (Cmid, the inner channels, equals Cout in a dense ResNet and differs after structured pruning;
//    the CUDA kernels need Cmid == Cout. On the CPU, w1/w2/ws may also be oneDNN-prepacked
//    tensors, see lit_bench.fuse.)
//   ws   [Cout, Cin, 1, 1]   (mode 2 only), bs [Cout] (mode 2 only)
//   out  [N, Cout, Ho, Wo]   channels_last-contiguous, Ho = (H-1)/s + 1, Wo = (W-1)/s + 1,
//                            overlapping no input and not itself (tiles read x's halo while
//                            others write out, so out=x would corrupt the result)
// The op is inference-only: inputs that require grad (with grad mode on) are an error.
// Accumulation is fp32 for every dtype; the intermediate activation is rounded to x's dtype
// (it lives in on-chip memory in that dtype on the GPU; the CPU kernel rounds the same way).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace lit {

enum ShortcutMode : int64_t { kIdentity = 0, kOptionA = 1, kOptionB = 2 };

// Sizes of one fused block, derived once from the inputs.
struct BlockShape {
  int64_t n, cin, h, w;   // input
  int64_t cmid;           // inner channels (conv1's outputs)
  int64_t cout, ho, wo;   // output
  int64_t stride;
  int64_t shortcut;       // ShortcutMode
  int64_t pad_before;     // option A: zero channels before the copied ones
};

// Check every input (device, dtype, shape, layout) and return the block's sizes.
// Errors are one TORCH_CHECK line naming the argument and what is expected.
BlockShape check_inputs(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                        const at::Tensor& w2, const at::Tensor& b2,
                        const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                        int64_t shortcut, int64_t stride);

// Check that `out` can receive the result (shape, dtype, device, channels_last-contiguous) and
// overlaps neither itself nor any input.
void check_out(const at::Tensor& out, const BlockShape& s, const at::Tensor& x,
               const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
               const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
               const c10::optional<at::Tensor>& bs);

// A fresh channels_last output for the block.
at::Tensor empty_out(const at::Tensor& x, const BlockShape& s);

// --- CPU: the block as oneDNN primitives (cpu/onednn_block.cpp) ------------------------------
// mid = relu(conv3x3_s(x; w1) + b1), then out = relu(conv3x3(mid; w2) + b2 + shortcut(x)) with the
// residual add and ReLU as post-ops of the second convolution (option B's 1x1 conv is one more
// primitive): the fused primitives inductor's CPU backend uses (mkldnn::_convolution_pointwise
// and its binary variant). Weights may be dense channels_last tensors (oneDNN reorders them on
// every call) or prepacked oneDNN tensors (lit_bench.fuse prepacks once per block and shape).

// Whether this PyTorch build and CPU run oneDNN convolutions in `dtype` (fp32 always with
// oneDNN; bf16/fp16 when the CPU has the instructions).
bool onednn_supports(at::ScalarType dtype);

// The block's result as a new channels_last tensor (inputs already checked).
at::Tensor onednn_block(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                        const at::Tensor& w2, const at::Tensor& b2,
                        const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                        const BlockShape& s);

}  // namespace lit
