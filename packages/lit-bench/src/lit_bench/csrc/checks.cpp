// Input checks shared by the CPU and CUDA kernels of lit::fused_basic_block (schema in ops.cpp).
#include <ATen/MemoryOverlap.h>

#include "fused_basic_block.h"

namespace lit {

namespace {

void check_weight(const at::Tensor& t, const char* name, const at::Tensor& x,
                  at::IntArrayRef shape) {
  TORCH_CHECK(t.device() == x.device(), "fused_basic_block: ", name, " is on ", t.device(),
              " but x is on ", x.device(), "; move all inputs to one device");
  TORCH_CHECK(t.scalar_type() == x.scalar_type(), "fused_basic_block: ", name, " has dtype ",
              t.scalar_type(), " but x has ", x.scalar_type(), "; cast all inputs to one dtype");
  TORCH_CHECK(t.sizes() == shape, "fused_basic_block: ", name, " must have shape ", shape,
              ", got ", t.sizes());
  if (t.is_mkldnn()) {  // oneDNN-prepacked weight (lit_bench.fuse): opaque layout, CPU only
    TORCH_CHECK(t.dim() == 4 && x.device().is_cpu(), "fused_basic_block: ", name,
                " is a oneDNN-prepacked tensor, which only a 4-D conv weight on the CPU can be");
  } else if (t.dim() == 4) {
    TORCH_CHECK(t.is_contiguous(at::MemoryFormat::ChannelsLast), "fused_basic_block: ", name,
                " must be channels_last-contiguous (OHWI in memory); call "
                ".contiguous(memory_format=torch.channels_last)");
  } else {
    TORCH_CHECK(t.is_contiguous(), "fused_basic_block: ", name, " must be contiguous");
  }
}

}  // namespace

BlockShape check_inputs(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                        const at::Tensor& w2, const at::Tensor& b2,
                        const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                        int64_t shortcut, int64_t stride) {
  TORCH_CHECK(x.dim() == 4, "fused_basic_block: x must be 4-D [N, C, H, W], got ", x.dim(), "-D");
  const auto dt = x.scalar_type();
  TORCH_CHECK(dt == at::kFloat || dt == at::kHalf || dt == at::kBFloat16,
              "fused_basic_block: dtype ", dt, " is not supported; use float32, float16 or bfloat16");
  TORCH_CHECK(x.is_contiguous(at::MemoryFormat::ChannelsLast),
              "fused_basic_block: x must be channels_last-contiguous (NHWC in memory); call "
              "x.contiguous(memory_format=torch.channels_last)");
  TORCH_CHECK(stride == 1 || stride == 2, "fused_basic_block: stride must be 1 or 2, got ", stride);
  TORCH_CHECK(shortcut >= kIdentity && shortcut <= kOptionB,
              "fused_basic_block: shortcut must be 0 (identity), 1 (option A) or 2 (option B), got ",
              shortcut);
  BlockShape s{};
  s.n = x.size(0);
  s.cin = x.size(1);
  s.h = x.size(2);
  s.w = x.size(3);
  TORCH_CHECK(w1.dim() == 4, "fused_basic_block: w1 must be 4-D [Cmid, Cin, 3, 3]");
  TORCH_CHECK(w2.dim() == 4, "fused_basic_block: w2 must be 4-D [Cout, Cmid, 3, 3]");
  s.cmid = w1.size(0);
  s.cout = w2.size(0);
  s.stride = stride;
  s.shortcut = shortcut;
  s.ho = (s.h - 1) / stride + 1;
  s.wo = (s.w - 1) / stride + 1;
  TORCH_CHECK(s.cin > 0 && s.cmid > 0 && s.cout > 0 && s.h > 0 && s.w > 0,
              "fused_basic_block: x, w1 and w2 must have non-zero channels and spatial size");
  check_weight(w1, "w1", x, {s.cmid, s.cin, 3, 3});
  check_weight(b1, "b1", x, {s.cmid});
  check_weight(w2, "w2", x, {s.cout, s.cmid, 3, 3});
  check_weight(b2, "b2", x, {s.cout});
  if (shortcut == kIdentity) {
    TORCH_CHECK(s.cin == s.cout && stride == 1,
                "fused_basic_block: the identity shortcut needs Cin == Cout and stride 1 (got Cin=",
                s.cin, ", Cout=", s.cout, ", stride=", stride, "); use shortcut 1 or 2");
  } else if (shortcut == kOptionA) {
    TORCH_CHECK(s.cout >= s.cin, "fused_basic_block: option A cannot shrink channels (Cin=", s.cin,
                ", Cout=", s.cout, ")");
    s.pad_before = (s.cout - s.cin) / 2;
  }
  if (shortcut == kOptionB) {
    TORCH_CHECK(ws.has_value() && bs.has_value(),
                "fused_basic_block: shortcut 2 (option B) needs ws [Cout, Cin, 1, 1] and bs [Cout]");
    check_weight(*ws, "ws", x, {s.cout, s.cin, 1, 1});
    check_weight(*bs, "bs", x, {s.cout});
  } else {
    TORCH_CHECK(!ws.has_value() && !bs.has_value(),
                "fused_basic_block: ws/bs are only used by shortcut 2 (option B); pass None");
  }
  return s;
}

namespace {

void check_no_overlap(const at::Tensor& out, const at::Tensor& t, const char* name) {
  if (t.is_mkldnn() || !t.has_storage() || !out.is_alias_of(t)) return;
  TORCH_CHECK(at::get_overlap_status(out, t) == at::MemOverlapStatus::No,
              "fused_basic_block: out overlaps ", name,
              " in memory (tiles read x's halo while others write out, so the result would be "
              "wrong); pass a separate output tensor, e.g. torch.empty_like(out)");
}

}  // namespace

void check_out(const at::Tensor& out, const BlockShape& s, const at::Tensor& x,
               const at::Tensor& w1, const at::Tensor& b1, const at::Tensor& w2,
               const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
               const c10::optional<at::Tensor>& bs) {
  TORCH_CHECK(out.device() == x.device() && out.scalar_type() == x.scalar_type(),
              "fused_basic_block: out must have x's device and dtype");
  TORCH_CHECK(out.sizes() == at::IntArrayRef({s.n, s.cout, s.ho, s.wo}),
              "fused_basic_block: out must have shape ", at::IntArrayRef({s.n, s.cout, s.ho, s.wo}),
              ", got ", out.sizes());
  TORCH_CHECK(at::has_internal_overlap(out) != at::MemOverlap::Yes,
              "fused_basic_block: out has overlapping elements (e.g. an expanded tensor), so "
              "several results would land on one address; pass a tensor that owns its memory");
  TORCH_CHECK(out.is_contiguous(at::MemoryFormat::ChannelsLast),
              "fused_basic_block: out must be channels_last-contiguous");
  check_no_overlap(out, x, "x");
  check_no_overlap(out, w1, "w1");
  check_no_overlap(out, b1, "b1");
  check_no_overlap(out, w2, "w2");
  check_no_overlap(out, b2, "b2");
  if (ws.has_value()) check_no_overlap(out, *ws, "ws");
  if (bs.has_value()) check_no_overlap(out, *bs, "bs");
}

at::Tensor empty_out(const at::Tensor& x, const BlockShape& s) {
  return at::empty({s.n, s.cout, s.ho, s.wo},
                   x.options().memory_format(at::MemoryFormat::ChannelsLast));
}

}  // namespace lit
