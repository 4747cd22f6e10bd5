// lit::fused_basic_block on the CPU through oneDNN (the library PyTorch ships), with post-ops:
//   mid = conv3x3_s(x; w1) + b1 -> ReLU                       (one oneDNN primitive)
//   out = conv3x3(mid; w2) + b2 + shortcut(x) -> ReLU         (one primitive, binary-add post-op)
// Option B's 1x1 shortcut conv is one more primitive. These are the fused primitives inductor's CPU
// backend uses (mkldnn::_convolution_pointwise and its binary variant). Weights may be dense
// channels_last tensors (oneDNN reorders them on every call) or prepacked oneDNN tensors
// (lit_bench.fuse prepacks once per model and input shape).
#pragma once

#include "../fused_basic_block.h"

namespace lit {

// Whether this PyTorch build and CPU run oneDNN convolutions in `dtype` (fp32 always with
// oneDNN; bf16/fp16 when the CPU has the instructions).
bool onednn_supports(at::ScalarType dtype);

// The block's result as a new channels_last tensor (inputs already checked).
at::Tensor onednn_block(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                        const at::Tensor& w2, const at::Tensor& b2,
                        const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                        const BlockShape& s);

}  // namespace lit
