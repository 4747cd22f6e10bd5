// CPU kernels of lit::fused_basic_block. Where oneDNN runs the dtype (fp32 always; bf16/fp16 on
// CPUs with the instructions) the block runs as fused oneDNN primitives (onednn_block.cpp): that is
// the fast path. Otherwise (e.g. fp16 without AVX512-FP16) this file's portable kernel runs, with
// the same tiling as the CUDA kernel, in plain C++:
//
// Work is split into (image, output tile) tasks run with at::parallel_for. Per task:
//   1. gather the input tile plus its halo into a local fp32 buffer (zeros outside the image);
//   2. conv1 + b1 + ReLU on the output tile plus a 1-pixel halo (the "mid" tile), rounded to the
//      input dtype like the GPU's on-chip copy; mid pixels outside the image are conv2's zero
//      padding, so they are set to 0, not computed;
//   3. conv2 + b2 + shortcut + ReLU on the output tile, written to `out`.
// The intermediate activation never leaves the task's buffers. Weights are converted once to
// fp32 in [tap][ci][co] order so the innermost loop runs over output channels (vectorisable).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "../fused_basic_block.h"

namespace lit {
namespace {

constexpr int64_t kTile = 8;  // output pixels per tile side

// [Cout, Cin, kh, kw] weight (any layout) -> fp32 [kh*kw][Cin][Cout] contiguous.
std::vector<float> taps_ci_co(const at::Tensor& w) {
  auto t = w.to(at::kFloat).permute({2, 3, 1, 0}).contiguous();
  const float* p = t.data_ptr<float>();
  return std::vector<float>(p, p + t.numel());
}

std::vector<float> as_floats(const at::Tensor& t) {
  auto f = t.to(at::kFloat).contiguous();
  const float* p = f.data_ptr<float>();
  return std::vector<float>(p, p + f.numel());
}

template <typename scalar_t>
void run_block(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
               const at::Tensor& w2, const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
               const c10::optional<at::Tensor>& bs, const BlockShape& s, at::Tensor& out) {
  const std::vector<float> w1t = taps_ci_co(w1), w2t = taps_ci_co(w2);
  const std::vector<float> b1f = as_floats(b1), b2f = as_floats(b2);
  std::vector<float> wst, bsf;
  if (s.shortcut == kOptionB) {
    wst = taps_ci_co(*ws);  // [1][Cin][Cout]
    bsf = as_floats(*bs);
  }
  const int64_t cin = s.cin, cmid = s.cmid, cout = s.cout, st = s.stride;
  const int64_t tiles_y = (s.ho + kTile - 1) / kTile, tiles_x = (s.wo + kTile - 1) / kTile;
  const int64_t mid_side = kTile + 2;                // mid tile: output tile + 1-pixel halo
  const int64_t in_side = (mid_side - 1) * st + 3;   // input tile feeding the mid tile
  const scalar_t* xp = x.data_ptr<scalar_t>();
  scalar_t* op = out.data_ptr<scalar_t>();

  at::parallel_for(0, s.n * tiles_y * tiles_x, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> in_t(in_side * in_side * cin), mid(mid_side * mid_side * cmid);
    std::vector<float> acc(std::max(cmid, cout));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / (tiles_y * tiles_x);
      const int64_t oy0 = (task / tiles_x) % tiles_y * kTile, ox0 = task % tiles_x * kTile;
      // Input tile origin: mid pixel (oy0-1, ox0-1) reads input rows from (oy0-1)*s - 1.
      const int64_t iy0 = (oy0 - 1) * st - 1, ix0 = (ox0 - 1) * st - 1;
      for (int64_t iy = 0; iy < in_side; ++iy) {
        for (int64_t ix = 0; ix < in_side; ++ix) {
          const int64_t gy = iy0 + iy, gx = ix0 + ix;
          float* dst = &in_t[(iy * in_side + ix) * cin];
          if (gy < 0 || gy >= s.h || gx < 0 || gx >= s.w) {
            std::fill(dst, dst + cin, 0.f);
          } else {
            const scalar_t* src = xp + ((n * s.h + gy) * s.w + gx) * cin;
            for (int64_t c = 0; c < cin; ++c) dst[c] = static_cast<float>(src[c]);
          }
        }
      }
      // conv1 + b1 + ReLU over the mid tile (eq.: mid = relu(conv3x3_s(x) + b1)).
      for (int64_t my = 0; my < mid_side; ++my) {
        for (int64_t mx = 0; mx < mid_side; ++mx) {
          float* m = &mid[(my * mid_side + mx) * cmid];
          const int64_t gy = oy0 - 1 + my, gx = ox0 - 1 + mx;
          if (gy < 0 || gy >= s.ho || gx < 0 || gx >= s.wo) {
            std::fill(m, m + cmid, 0.f);  // conv2's zero padding
            continue;
          }
          std::copy(b1f.begin(), b1f.end(), acc.begin());
          for (int64_t ky = 0; ky < 3; ++ky) {
            for (int64_t kx = 0; kx < 3; ++kx) {
              const float* a = &in_t[((my * st + ky) * in_side + mx * st + kx) * cin];
              const float* wt = &w1t[(ky * 3 + kx) * cin * cmid];
              for (int64_t ci = 0; ci < cin; ++ci) {
                const float v = a[ci];
                const float* wr = wt + ci * cmid;
                for (int64_t co = 0; co < cmid; ++co) acc[co] += v * wr[co];
              }
            }
          }
          for (int64_t co = 0; co < cmid; ++co) {
            m[co] = static_cast<float>(static_cast<scalar_t>(std::max(acc[co], 0.f)));
          }
        }
      }
      // conv2 + b2 + shortcut + ReLU over the output tile.
      for (int64_t ty = 0; ty < kTile && oy0 + ty < s.ho; ++ty) {
        for (int64_t tx = 0; tx < kTile && ox0 + tx < s.wo; ++tx) {
          std::copy(b2f.begin(), b2f.end(), acc.begin());
          for (int64_t ky = 0; ky < 3; ++ky) {
            for (int64_t kx = 0; kx < 3; ++kx) {
              const float* a = &mid[((ty + ky) * mid_side + tx + kx) * cmid];
              const float* wt = &w2t[(ky * 3 + kx) * cmid * cout];
              for (int64_t ci = 0; ci < cmid; ++ci) {
                const float v = a[ci];
                const float* wr = wt + ci * cout;
                for (int64_t co = 0; co < cout; ++co) acc[co] += v * wr[co];
              }
            }
          }
          // Shortcut input pixel x[oy*s, ox*s] sits at input-tile position (t+1)*s + 1.
          const float* sc = &in_t[(((ty + 1) * st + 1) * in_side + (tx + 1) * st + 1) * cin];
          if (s.shortcut == kIdentity) {
            for (int64_t co = 0; co < cout; ++co) acc[co] += sc[co];
          } else if (s.shortcut == kOptionA) {
            for (int64_t ci = 0; ci < cin; ++ci) acc[ci + s.pad_before] += sc[ci];
          } else {
            for (int64_t co = 0; co < cout; ++co) acc[co] += bsf[co];
            for (int64_t ci = 0; ci < cin; ++ci) {
              const float v = sc[ci];
              const float* wr = &wst[ci * cout];
              for (int64_t co = 0; co < cout; ++co) acc[co] += v * wr[co];
            }
          }
          scalar_t* dst = op + ((n * s.ho + oy0 + ty) * s.wo + ox0 + tx) * cout;
          for (int64_t co = 0; co < cout; ++co) {
            dst[co] = static_cast<scalar_t>(std::max(acc[co], 0.f));
          }
        }
      }
    }
  });
}

// LIT_CPU_KERNEL=portable runs the portable kernel even where oneDNN could (tests, comparisons).
bool force_portable() {
  const char* v = std::getenv("LIT_CPU_KERNEL");
  return v != nullptr && std::string_view(v) == "portable";
}

bool any_prepacked(const at::Tensor& w1, const at::Tensor& w2,
                   const c10::optional<at::Tensor>& ws) {
  return w1.is_mkldnn() || w2.is_mkldnn() || (ws.has_value() && ws->is_mkldnn());
}

// The block into a fresh tensor: oneDNN where it runs the dtype, else the portable kernel.
at::Tensor compute(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                   const at::Tensor& w2, const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
                   const c10::optional<at::Tensor>& bs, const BlockShape& s) {
  const bool prepacked = any_prepacked(w1, w2, ws);
  if (onednn_supports(x.scalar_type()) && (prepacked || !force_portable())) {
    return onednn_block(x, w1, b1, w2, b2, ws, bs, s);
  }
  TORCH_CHECK(!prepacked, "fused_basic_block: oneDNN-prepacked weights given, but oneDNN does not "
              "run ", x.scalar_type(), " on this CPU; pass dense channels_last weights");
  at::Tensor out = empty_out(x, s);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "fused_basic_block_cpu",
                                  [&] { run_block<scalar_t>(x, w1, b1, w2, b2, ws, bs, s, out); });
  return out;
}

at::Tensor& fused_basic_block_out_cpu(const at::Tensor& x, const at::Tensor& w1,
                                      const at::Tensor& b1, const at::Tensor& w2,
                                      const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
                                      const c10::optional<at::Tensor>& bs, int64_t shortcut,
                                      int64_t stride, at::Tensor& out) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  check_out(out, s, x, w1, b1, w2, b2, ws, bs);
  if (s.n == 0) return out;
  out.copy_(compute(x, w1, b1, w2, b2, ws, bs, s));
  return out;
}

at::Tensor fused_basic_block_cpu(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                                 const at::Tensor& w2, const at::Tensor& b2,
                                 const c10::optional<at::Tensor>& ws,
                                 const c10::optional<at::Tensor>& bs, int64_t shortcut,
                                 int64_t stride) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  if (s.n == 0) return empty_out(x, s);
  return compute(x, w1, b1, w2, b2, ws, bs, s);
}

}  // namespace
}  // namespace lit

TORCH_LIBRARY_IMPL(lit, CPU, m) {
  m.impl("fused_basic_block", &lit::fused_basic_block_cpu);
  m.impl("fused_basic_block.out", &lit::fused_basic_block_out_cpu);
}

// Prepacked oneDNN weights carry the MkldnnCPU dispatch key; the same kernels handle them.
TORCH_LIBRARY_IMPL(lit, MkldnnCPU, m) {
  m.impl("fused_basic_block", &lit::fused_basic_block_cpu);
  m.impl("fused_basic_block.out", &lit::fused_basic_block_out_cpu);
}
