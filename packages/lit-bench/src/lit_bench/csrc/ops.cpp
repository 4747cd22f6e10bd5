// The schema of lit::fused_basic_block, declared once, and its Autograd kernel. Device kernels are
// registered in cpu/fused_basic_block_cpu.cpp (CPU, oneDNN) and cuda/fused_basic_block_cuda.cu
// (CUDA); the input checks they share are in checks.cpp; the fake (meta) kernel lives in Python
// (lit_bench/ops.py).
//
// The op is inference-only (no backward). Without an Autograd kernel PyTorch would only warn and
// return a result with no gradient, so inputs that require grad are rejected here with one clear
// line; everything else drops below autograd to the device kernel.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <torch/library.h>

#include <initializer_list>

namespace lit {
namespace {

using OptTensor = c10::optional<at::Tensor>;

void check_no_grad(std::initializer_list<std::pair<const char*, const at::Tensor*>> args) {
  if (!at::GradMode::is_enabled()) return;
  for (const auto& [name, t] : args) {
    TORCH_CHECK(t == nullptr || !t->defined() || !t->requires_grad(), "fused_basic_block: ",
                name,
                " requires grad, but the op is inference-only (it has no backward); call it "
                "under torch.no_grad() or torch.inference_mode(), or pass detached tensors");
  }
}

at::Tensor fused_autograd(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                          const at::Tensor& w2, const at::Tensor& b2, const OptTensor& ws,
                          const OptTensor& bs, int64_t shortcut, int64_t stride) {
  check_no_grad({{"x", &x}, {"w1", &w1}, {"b1", &b1}, {"w2", &w2}, {"b2", &b2},
                 {"ws", ws ? &*ws : nullptr}, {"bs", bs ? &*bs : nullptr}});
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("lit::fused_basic_block", "")
                       .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                         const at::Tensor&, const at::Tensor&, const OptTensor&,
                                         const OptTensor&, int64_t, int64_t)>();
  at::AutoDispatchBelowADInplaceOrView guard;
  return op.call(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
}

at::Tensor& fused_out_autograd(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                               const at::Tensor& w2, const at::Tensor& b2, const OptTensor& ws,
                               const OptTensor& bs, int64_t shortcut, int64_t stride,
                               at::Tensor& out) {
  check_no_grad({{"x", &x}, {"w1", &w1}, {"b1", &b1}, {"w2", &w2}, {"b2", &b2},
                 {"ws", ws ? &*ws : nullptr}, {"bs", bs ? &*bs : nullptr}, {"out", &out}});
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("lit::fused_basic_block", "out")
                       .typed<at::Tensor&(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                          const at::Tensor&, const at::Tensor&, const OptTensor&,
                                          const OptTensor&, int64_t, int64_t, at::Tensor&)>();
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    op.call(x, w1, b1, w2, b2, ws, bs, shortcut, stride, out);
  }
  return out;
}

}  // namespace
}  // namespace lit

TORCH_LIBRARY(lit, m) {
  m.def(
      "fused_basic_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride) -> Tensor");
  m.def(
      "fused_basic_block.out(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride, *, Tensor(a!) out) -> Tensor(a!)");
}

TORCH_LIBRARY_IMPL(lit, Autograd, m) {
  m.impl("fused_basic_block", &lit::fused_autograd);
  m.impl("fused_basic_block.out", &lit::fused_out_autograd);
}
