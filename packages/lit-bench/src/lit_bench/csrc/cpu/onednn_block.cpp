// The oneDNN CPU path of lit::fused_basic_block (declared, with its design, in fused_basic_block.h).
#include "../fused_basic_block.h"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <optional>
#include <string_view>

namespace lit {
namespace {

using ScalarList = c10::List<std::optional<at::Scalar>>;

// mkldnn::_convolution_pointwise(X, W, B, padding, stride, dilation, groups, attr, scalars, algo)
at::Tensor conv_unary(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t pad,
                      int64_t stride, std::string_view attr) {
  static auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("mkldnn::_convolution_pointwise", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                            at::IntArrayRef, at::IntArrayRef, at::IntArrayRef, int64_t,
                            std::string_view, ScalarList, std::optional<std::string_view>)>();
  return op.call(x, w, b, {pad, pad}, {stride, stride}, {1, 1}, 1, attr, ScalarList(),
                 std::nullopt);
}

// mkldnn::_convolution_pointwise.binary: relu(conv(X, W) + B + other)
at::Tensor conv_add_relu(const at::Tensor& x, const at::Tensor& other, const at::Tensor& w,
                         const at::Tensor& b) {
  static auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("mkldnn::_convolution_pointwise", "binary")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                            const std::optional<at::Tensor>&, at::IntArrayRef, at::IntArrayRef,
                            at::IntArrayRef, int64_t, std::string_view,
                            std::optional<at::Scalar>, std::optional<std::string_view>,
                            ScalarList, std::optional<std::string_view>)>();
  return op.call(x, other, w, b, {1, 1}, {1, 1}, {1, 1}, 1, "add", std::nullopt, "relu",
                 ScalarList(), std::nullopt);
}

bool mkldnn_flag(const char* name) {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<bool()>();
  return op.call();
}

}  // namespace

bool onednn_supports(at::ScalarType dtype) {
  if (!at::hasMKLDNN() || !at::globalContext().userEnabledMkldnn()) return false;
  static const bool bf16 = mkldnn_flag("mkldnn::_is_mkldnn_bf16_supported");
  static const bool fp16 = mkldnn_flag("mkldnn::_is_mkldnn_fp16_supported");
  return dtype == at::kFloat || (dtype == at::kBFloat16 && bf16) || (dtype == at::kHalf && fp16);
}

at::Tensor onednn_block(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                        const at::Tensor& w2, const at::Tensor& b2,
                        const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                        const BlockShape& s) {
  // mid = relu(conv3x3_s(x) + b1), kept in x's dtype like the GPU's on-chip copy.
  const at::Tensor mid = conv_unary(x, w1, b1, 1, s.stride, "relu");
  at::Tensor shortcut;
  if (s.shortcut == kIdentity) {
    shortcut = x;
  } else if (s.shortcut == kOptionA) {  // x[:, :, ::s, ::s] with zero channels around it
    const at::Tensor sub = x.slice(2, 0, s.h, s.stride).slice(3, 0, s.w, s.stride);
    shortcut = at::constant_pad_nd(sub, {0, 0, 0, 0, s.pad_before, s.cout - s.cin - s.pad_before})
                   .contiguous(at::MemoryFormat::ChannelsLast);
  } else {
    shortcut = conv_unary(x, *ws, *bs, 0, s.stride, "none");
  }
  // out = relu(conv3x3(mid) + b2 + shortcut) in one primitive (binary-add and ReLU post-ops).
  return conv_add_relu(mid, shortcut, w2, b2).contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace lit
