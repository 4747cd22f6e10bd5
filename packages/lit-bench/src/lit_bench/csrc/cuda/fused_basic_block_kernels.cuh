// Device code of lit::fused_basic_block (design notes in fused_basic_block_cuda.cu), in a header so
// the host emulator in tests/ops/emu can compile the very same kernels without a GPU.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include "../fused_basic_block.h"

#ifndef LIT_EMULATE_CUDA
#define LIT_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#endif

namespace lit {
namespace fused_detail {

struct Params {
  const void* x;
  const void* w1;
  const void* b1;
  const void* w2;
  const void* b2;
  const void* ws;
  const void* bs;
  void* out;
  int n, cin, h, w, cout, ho, wo, stride, shortcut, pad_before;
  int tile, tiles_y, tiles_x, mid_side, in_side;
};

constexpr int kMmaThreads = 128;   // 4 warps
constexpr int kSimtThreads = 256;
// __launch_bounds__(threads, 4): at least 4 CTAs per SM, i.e. at most 128 registers per thread
// for block_mma and 64 for block_simt (65536 / (threads * 4)). The static report
// (results/fused-op/gpu_static.md) shows both without spills.
constexpr int kMinCtasPerSm = 4;

// Which image and which output square this CTA owns, and where its input patch starts.
struct TileOrigin {
  int n, oy0, ox0, iy0, ix0;
};

__device__ __forceinline__ TileOrigin tile_origin(const Params& p) {
  const int tiles = p.tiles_y * p.tiles_x;
  TileOrigin o;
  o.n = blockIdx.x / tiles;
  const int t = blockIdx.x % tiles;
  o.oy0 = (t / p.tiles_x) * p.tile;
  o.ox0 = (t % p.tiles_x) * p.tile;
  // Mid pixel (oy0-1, ox0-1) reads input rows starting at (oy0-1)*stride - 1.
  o.iy0 = (o.oy0 - 1) * p.stride - 1;
  o.ix0 = (o.ox0 - 1) * p.stride - 1;
  return o;
}

template <typename T>
__device__ __forceinline__ float to_f(T v) {
  return static_cast<float>(v);
}

// ---------------------------------------------------------------------------------------------
// CUDA-core kernel (every dtype, every channel count).
// ---------------------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(kSimtThreads, kMinCtasPerSm) block_simt(const Params p) {
  LIT_DYNAMIC_SMEM(smem_raw);
  float* in_s = reinterpret_cast<float*>(smem_raw);
  float* mid_s = in_s + p.in_side * p.in_side * p.cin;
  const TileOrigin o = tile_origin(p);
  const int cin = p.cin, cout = p.cout, st = p.stride;
  const T* x = static_cast<const T*>(p.x);
  const T* w1 = static_cast<const T*>(p.w1);
  const T* b1 = static_cast<const T*>(p.b1);
  const T* w2 = static_cast<const T*>(p.w2);
  const T* b2 = static_cast<const T*>(p.b2);

  // 1. input patch -> shared memory (fp32), zeros outside the image.
  const int in_pix = p.in_side * p.in_side;
  for (int i = threadIdx.x; i < in_pix * cin; i += blockDim.x) {
    const int c = i % cin, q = i / cin;
    const int gy = o.iy0 + q / p.in_side, gx = o.ix0 + q % p.in_side;
    float v = 0.f;
    if (gy >= 0 && gy < p.h && gx >= 0 && gx < p.w) {
      v = to_f(x[((static_cast<size_t>(o.n) * p.h + gy) * p.w + gx) * cin + c]);
    }
    in_s[i] = v;
  }
  __syncthreads();

  // 2. mid = relu(conv3x3_s(x) + b1) over the square plus halo, rounded to T.
  const int mid_pix = p.mid_side * p.mid_side;
  for (int i = threadIdx.x; i < mid_pix * cout; i += blockDim.x) {
    const int co = i % cout, q = i / cout;
    const int my = q / p.mid_side, mx = q % p.mid_side;
    const int gy = o.oy0 - 1 + my, gx = o.ox0 - 1 + mx;
    float v = 0.f;  // outside the image: conv2's zero padding
    if (gy >= 0 && gy < p.ho && gx >= 0 && gx < p.wo) {
      float acc = to_f(b1[co]);
      const T* wr = w1 + static_cast<size_t>(co) * 9 * cin;
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
          const float* a = in_s + ((my * st + ky) * p.in_side + mx * st + kx) * cin;
          const T* wt = wr + (ky * 3 + kx) * cin;
          for (int ci = 0; ci < cin; ++ci) acc = fmaf(a[ci], to_f(wt[ci]), acc);
        }
      }
      v = to_f(static_cast<T>(fmaxf(acc, 0.f)));
    }
    mid_s[i] = v;
  }
  __syncthreads();

  // 3. out = relu(conv3x3(mid) + b2 + shortcut(x)) over the square.
  const T* ws = static_cast<const T*>(p.ws);
  const T* bs = static_cast<const T*>(p.bs);
  T* out = static_cast<T*>(p.out);
  for (int i = threadIdx.x; i < p.tile * p.tile * cout; i += blockDim.x) {
    const int co = i % cout, q = i / cout;
    const int ty = q / p.tile, tx = q % p.tile;
    const int oy = o.oy0 + ty, ox = o.ox0 + tx;
    if (oy >= p.ho || ox >= p.wo) continue;
    float acc = to_f(b2[co]);
    const T* wr = w2 + static_cast<size_t>(co) * 9 * cout;
    for (int ky = 0; ky < 3; ++ky) {
      for (int kx = 0; kx < 3; ++kx) {
        const float* a = mid_s + ((ty + ky) * p.mid_side + tx + kx) * cout;
        const T* wt = wr + (ky * 3 + kx) * cout;
        for (int ci = 0; ci < cout; ++ci) acc = fmaf(a[ci], to_f(wt[ci]), acc);
      }
    }
    // Shortcut pixel x[oy*s, ox*s] sits at patch position (t+1)*s + 1.
    const float* sc = in_s + (((ty + 1) * st + 1) * p.in_side + (tx + 1) * st + 1) * cin;
    if (p.shortcut == kIdentity) {
      acc += sc[co];
    } else if (p.shortcut == kOptionA) {
      const int c = co - p.pad_before;
      if (c >= 0 && c < cin) acc += sc[c];
    } else {
      acc += to_f(bs[co]);
      const T* wsr = ws + static_cast<size_t>(co) * cin;
      for (int ci = 0; ci < cin; ++ci) acc = fmaf(sc[ci], to_f(wsr[ci]), acc);
    }
    out[((static_cast<size_t>(o.n) * p.ho + oy) * p.wo + ox) * cout + co] =
        static_cast<T>(fmaxf(acc, 0.f));
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor-core kernel (fp16 / bf16, Cin % 16 == 0, Cout % 16 == 0).
// ---------------------------------------------------------------------------------------------

// D += A(16x16, row) * B(16x8, col), fp32 accumulators. Fragment layout (PTX ISA, m16n8k16,
// g = lane/4, t = lane%4): a[0] = A[g][2t..2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..],
// a[3] = A[g+8][2t+8..]; b[0] = B[2t..2t+1][g], b[1] = B[2t+8..2t+9][g];
// d[0..1] = D[g][2t..2t+1], d[2..3] = D[g+8][2t..2t+1].
template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4],
                                          const uint32_t (&b)[2]) {
#if defined(LIT_EMULATE_CUDA)
  lit_emu::mma_16816<T>(d, a, b);  // host emulation (tests/ops/emu)
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, at::BFloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#else
  __trap();  // unreachable: the host checks the kernel's code version first (check_mma_code)
#endif
}

// 16-byte accesses go through these two, so the host emulator can check their alignment.
__device__ __forceinline__ uint4 ldg128(const void* p) {
#if defined(LIT_EMULATE_CUDA)
  lit_emu::check_aligned(p, 16, "16-byte global load");
#endif
  return __ldg(static_cast<const uint4*>(p));
}

__device__ __forceinline__ void sts128(void* p, uint4 v) {
#if defined(LIT_EMULATE_CUDA)
  lit_emu::check_aligned(p, 16, "16-byte shared store");
#endif
  *static_cast<uint4*>(p) = v;
}

template <typename T>
__device__ __forceinline__ uint32_t lds32(const T* p) {  // two adjacent elements of shared memory
  return *reinterpret_cast<const uint32_t*>(p);
}

template <typename T>
__device__ __forceinline__ uint32_t ldg32(const T* p) {  // two adjacent elements, read-only cache
  return __ldg(reinterpret_cast<const unsigned int*>(p));
}

// One warp item: 16 rows (pixels) x NF*8 columns (output channels) of one 3x3 conv, K = 9 x cin.
// a0/a1: this lane's two row pixels at tap (0,0) (already offset by 2t); row_step: pixels between
// kernel rows in the source tile; pstr: elements per source pixel; w: weights [co][tap][cin].
template <typename T, int NF>
__device__ __forceinline__ void conv3x3_mma(float (&acc)[NF][4], const T* a0, const T* a1,
                                            int row_step, int pstr, int cin, const T* w,
                                            int co_base, int g, int t) {
  for (int tap = 0; tap < 9; ++tap) {
    const int off = ((tap / 3) * row_step + tap % 3) * pstr;
    const T* wt = w + tap * cin + 2 * t;
    for (int kc = 0; kc < cin; kc += 16) {
      const uint32_t a[4] = {lds32(a0 + off + kc), lds32(a1 + off + kc), lds32(a0 + off + kc + 8),
                             lds32(a1 + off + kc + 8)};
#pragma unroll
      for (int f = 0; f < NF; ++f) {
        const T* wp = wt + static_cast<size_t>(co_base + f * 8 + g) * 9 * cin + kc;
        const uint32_t b[2] = {ldg32(wp), ldg32(wp + 8)};
        mma_16816<T>(acc[f], a, b);
      }
    }
  }
}

template <typename T, int NF>
__global__ void __launch_bounds__(kMmaThreads, kMinCtasPerSm) block_mma(const Params p) {
  LIT_DYNAMIC_SMEM(smem_raw);
  const int cin = p.cin, cout = p.cout, st = p.stride;
  const int istr = cin + 8, mstr = cout + 8;  // padded pixel strides (elements)
  T* in_s = reinterpret_cast<T*>(smem_raw);
  T* mid_s = in_s + p.in_side * p.in_side * istr;
  const TileOrigin o = tile_origin(p);
  const T* x = static_cast<const T*>(p.x);

  // 1. input patch -> shared memory with 16-byte copies (8 elements), zeros outside the image.
  const int in_pix = p.in_side * p.in_side, cv = cin / 8;
  for (int i = threadIdx.x; i < in_pix * cv; i += blockDim.x) {
    const int v = i % cv, q = i / cv;
    const int gy = o.iy0 + q / p.in_side, gx = o.ix0 + q % p.in_side;
    uint4 val = make_uint4(0u, 0u, 0u, 0u);
    if (gy >= 0 && gy < p.h && gx >= 0 && gx < p.w) {
      const T* src = x + ((static_cast<size_t>(o.n) * p.h + gy) * p.w + gx) * cin;
      val = ldg128(src + v * 8);
    }
    sts128(in_s + q * istr + v * 8, val);
  }
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
  const int nwarps = blockDim.x / 32, ngroups = cout / (NF * 8);

  // 2. mid = relu(conv3x3_s(x) + b1) over the square plus halo, stored as T.
  const T* b1 = static_cast<const T*>(p.b1);
  const int mid_pix = p.mid_side * p.mid_side;
  const int mid_frags = (mid_pix + 15) / 16;
  for (int item = warp; item < mid_frags * ngroups; item += nwarps) {
    const int mf = item / ngroups, co_base = (item % ngroups) * NF * 8;
    const int r0 = mf * 16 + g, r1 = r0 + 8;
    const int q0 = r0 < mid_pix ? r0 : 0, q1 = r1 < mid_pix ? r1 : 0;  // padding rows: any pixel
    const int my0 = q0 / p.mid_side, mx0 = q0 % p.mid_side;
    const int my1 = q1 / p.mid_side, mx1 = q1 % p.mid_side;
    const T* a0 = in_s + (my0 * st * p.in_side + mx0 * st) * istr + 2 * t;
    const T* a1 = in_s + (my1 * st * p.in_side + mx1 * st) * istr + 2 * t;
    float acc[NF][4];
#pragma unroll
    for (int f = 0; f < NF; ++f) acc[f][0] = acc[f][1] = acc[f][2] = acc[f][3] = 0.f;
    conv3x3_mma<T, NF>(acc, a0, a1, p.in_side, istr, cin, static_cast<const T*>(p.w1), co_base, g,
                       t);
    const int gy0 = o.oy0 - 1 + my0, gx0 = o.ox0 - 1 + mx0;
    const int gy1 = o.oy0 - 1 + my1, gx1 = o.ox0 - 1 + mx1;
    const bool in0 = gy0 >= 0 && gy0 < p.ho && gx0 >= 0 && gx0 < p.wo;
    const bool in1 = gy1 >= 0 && gy1 < p.ho && gx1 >= 0 && gx1 < p.wo;
#pragma unroll
    for (int f = 0; f < NF; ++f) {
      const int col = co_base + f * 8 + 2 * t;
      const float bb0 = to_f(b1[col]), bb1 = to_f(b1[col + 1]);
      if (r0 < mid_pix) {
        mid_s[r0 * mstr + col] = static_cast<T>(in0 ? fmaxf(acc[f][0] + bb0, 0.f) : 0.f);
        mid_s[r0 * mstr + col + 1] = static_cast<T>(in0 ? fmaxf(acc[f][1] + bb1, 0.f) : 0.f);
      }
      if (r1 < mid_pix) {
        mid_s[r1 * mstr + col] = static_cast<T>(in1 ? fmaxf(acc[f][2] + bb0, 0.f) : 0.f);
        mid_s[r1 * mstr + col + 1] = static_cast<T>(in1 ? fmaxf(acc[f][3] + bb1, 0.f) : 0.f);
      }
    }
  }
  __syncthreads();

  // 3. out = relu(conv3x3(mid) + b2 + shortcut(x)) over the square (tile*tile % 16 == 0).
  const T* b2 = static_cast<const T*>(p.b2);
  const T* bs = static_cast<const T*>(p.bs);
  T* out = static_cast<T*>(p.out);
  const int out_frags = p.tile * p.tile / 16;
  for (int item = warp; item < out_frags * ngroups; item += nwarps) {
    const int mf = item / ngroups, co_base = (item % ngroups) * NF * 8;
    const int r0 = mf * 16 + g, r1 = r0 + 8;
    const int ty0 = r0 / p.tile, tx0 = r0 % p.tile, ty1 = r1 / p.tile, tx1 = r1 % p.tile;
    const T* a0 = mid_s + (ty0 * p.mid_side + tx0) * mstr + 2 * t;
    const T* a1 = mid_s + (ty1 * p.mid_side + tx1) * mstr + 2 * t;
    float acc[NF][4];
#pragma unroll
    for (int f = 0; f < NF; ++f) acc[f][0] = acc[f][1] = acc[f][2] = acc[f][3] = 0.f;
    conv3x3_mma<T, NF>(acc, a0, a1, p.mid_side, mstr, cout, static_cast<const T*>(p.w2), co_base,
                       g, t);
    // Shortcut pixels x[oy*s, ox*s] sit at patch position (t+1)*s + 1.
    const int c0 = ((ty0 + 1) * st + 1) * p.in_side + (tx0 + 1) * st + 1;
    const int c1 = ((ty1 + 1) * st + 1) * p.in_side + (tx1 + 1) * st + 1;
    if (p.shortcut == kOptionB) {  // 1x1 conv: one more K pass, A = the centre pixels
      const T* s0 = in_s + c0 * istr + 2 * t;
      const T* s1 = in_s + c1 * istr + 2 * t;
      const T* ws = static_cast<const T*>(p.ws);
      for (int kc = 0; kc < cin; kc += 16) {
        const uint32_t a[4] = {lds32(s0 + kc), lds32(s1 + kc), lds32(s0 + kc + 8),
                               lds32(s1 + kc + 8)};
#pragma unroll
        for (int f = 0; f < NF; ++f) {
          const T* wp = ws + static_cast<size_t>(co_base + f * 8 + g) * cin + kc + 2 * t;
          const uint32_t b[2] = {ldg32(wp), ldg32(wp + 8)};
          mma_16816<T>(acc[f], a, b);
        }
      }
    }
    const int oy0 = o.oy0 + ty0, ox0 = o.ox0 + tx0, oy1 = o.oy0 + ty1, ox1 = o.ox0 + tx1;
    const bool ok0 = oy0 < p.ho && ox0 < p.wo, ok1 = oy1 < p.ho && ox1 < p.wo;
    T* d0 = out + ((static_cast<size_t>(o.n) * p.ho + oy0) * p.wo + ox0) * cout;
    T* d1 = out + ((static_cast<size_t>(o.n) * p.ho + oy1) * p.wo + ox1) * cout;
#pragma unroll
    for (int f = 0; f < NF; ++f) {
      const int col = co_base + f * 8 + 2 * t;
      float v[4] = {acc[f][0], acc[f][1], acc[f][2], acc[f][3]};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int c = col + (j & 1);
        const int cp = j < 2 ? c0 : c1;
        v[j] += to_f(b2[c]);
        if (p.shortcut == kOptionB) {
          v[j] += to_f(bs[c]);
        } else {
          const int ci = p.shortcut == kIdentity ? c : c - p.pad_before;
          if (ci >= 0 && ci < cin) v[j] += to_f(in_s[cp * istr + ci]);
        }
      }
      if (ok0) {
        d0[col] = static_cast<T>(fmaxf(v[0], 0.f));
        d0[col + 1] = static_cast<T>(fmaxf(v[1], 0.f));
      }
      if (ok1) {
        d1[col] = static_cast<T>(fmaxf(v[2], 0.f));
        d1[col + 1] = static_cast<T>(fmaxf(v[3], 0.f));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Host-side planning, shared by the CUDA launcher and the host emulator.
// ---------------------------------------------------------------------------------------------


constexpr size_t kDefaultSmem = 48 * 1024;  // dynamic shared memory allowed without an opt-in

struct DeviceInfo {
  int sms, major;
  size_t smem_optin;
};

// What the host remembers per (kernel, device): the dynamic shared memory already allowed (an
// opt-in above 48 KB is a per-kernel, per-device attribute) and the PTX version of the kernel's
// code for that device. Thread-safe; any device index. Raised once, on the first eager call, so
// launches inside a CUDA graph capture make no attribute calls.
class KernelCache {
 public:
  // Make sure (kernel, device) may launch with `bytes` of dynamic shared memory; `raise(bytes)`
  // sets the attribute (it throws on failure, leaving the record unchanged). Never lowers it.
  template <typename RaiseFn>
  void ensure_smem(const void* kernel, int device, size_t bytes, RaiseFn&& raise) {
    if (bytes <= kDefaultSmem) return;
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[{kernel, device}];
    if (e.smem_allowed >= bytes) return;
    raise(bytes);
    e.smem_allowed = bytes;
  }

  // The PTX version (e.g. 90) of the kernel's code on `device`, asked once through `query()`.
  template <typename QueryFn>
  int code_version(const void* kernel, int device, QueryFn&& query) {
    std::lock_guard<std::mutex> lock(mu_);
    Entry& e = entries_[{kernel, device}];
    if (e.ptx_version < 0) e.ptx_version = query();
    return e.ptx_version;
  }

 private:
  struct Entry {
    size_t smem_allowed = kDefaultSmem;
    int ptx_version = -1;
  };
  std::mutex mu_;
  std::map<std::pair<const void*, int>, Entry> entries_;
};

inline KernelCache& kernel_cache() {
  static KernelCache cache;
  return cache;
}

// The tensor-core kernel needs sm_80+ code (mma.sync bf16/f16); a build without it would reach
// __trap(), which kills the CUDA context. Say so instead.
inline void check_mma_code(int ptx_version, int device_major) {
  TORCH_CHECK(ptx_version >= 80, "fused_basic_block: this sm_", device_major,
              "x GPU takes the tensor-core kernel, but the library holds no sm_80+ code for it "
              "(its code was compiled for compute_", ptx_version, "); rebuild with "
              "TORCH_CUDA_ARCH_LIST naming this GPU (e.g. \"8.0;9.0\") after deleting the cached "
              "build (LIT_EXT_DIR or torch's extension cache)");
}

// Shared-memory bytes per CTA for a tile (MMA: padded T tiles; CUDA cores: fp32 tiles).
inline size_t smem_bytes(bool mma, size_t elem, int cin, int cout, int tile, int stride) {
  const size_t mid = tile + 2, in = (mid - 1) * stride + 3;
  if (mma) return (in * in * (cin + 8) + mid * mid * (cout + 8)) * elem;
  return (in * in * cin + mid * mid * cout) * sizeof(float);
}


inline bool aligned(const void* ptr, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

inline Params make_params(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                          const at::Tensor& w2, const at::Tensor& b2,
                          const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                          const at::Tensor& out, const BlockShape& s) {
  TORCH_CHECK(s.cmid == s.cout, "fused_basic_block: the CUDA kernels need as many inner channels "
              "as output channels (got Cmid=", s.cmid, ", Cout=", s.cout, "); structured-pruned "
              "blocks run on the CPU, or zero-pad conv1 to Cout channels (lit_bench.fuse does)");
  TORCH_CHECK(s.n * s.h * s.w * std::max(s.cin, s.cout) < (int64_t{1} << 40) &&
                  s.h < (1 << 20) && s.w < (1 << 20) && s.cin < (1 << 20) && s.cout < (1 << 20),
              "fused_basic_block: input too large for the CUDA kernel; split the batch");
  Params p{};
  p.x = x.data_ptr();
  p.w1 = w1.data_ptr();
  p.b1 = b1.data_ptr();
  p.w2 = w2.data_ptr();
  p.b2 = b2.data_ptr();
  p.ws = s.shortcut == kOptionB ? ws->data_ptr() : nullptr;
  p.bs = s.shortcut == kOptionB ? bs->data_ptr() : nullptr;
  p.out = out.data_ptr();
  p.n = static_cast<int>(s.n);
  p.cin = static_cast<int>(s.cin);
  p.h = static_cast<int>(s.h);
  p.w = static_cast<int>(s.w);
  p.cout = static_cast<int>(s.cout);
  p.ho = static_cast<int>(s.ho);
  p.wo = static_cast<int>(s.wo);
  p.stride = static_cast<int>(s.stride);
  p.shortcut = static_cast<int>(s.shortcut);
  p.pad_before = static_cast<int>(s.pad_before);
  return p;
}

// Tensor cores: half types, sm_80+, channels in 16s, and the alignment the vector loads need.
inline bool use_mma(const Params& p, at::ScalarType dtype, const DeviceInfo& dev) {
  return dtype != at::kFloat && dev.major >= 8 && p.cin % 16 == 0 && p.cout % 16 == 0 &&
         aligned(p.x, 16) && aligned(p.w1, 4) && aligned(p.w2, 4) &&
         (p.shortcut != kOptionB || aligned(p.ws, 4));
}

// Pick the tile (8 when the grid still has >= 2 CTAs per SM, else 4; smaller while shared memory
// does not fit), fill in the grid geometry, and return the dynamic shared-memory bytes.
inline size_t plan_tiles(Params& p, const DeviceInfo& dev, bool mma, size_t elem) {
  const int64_t tiles8 = static_cast<int64_t>((p.ho + 7) / 8) * ((p.wo + 7) / 8);
  int tile = (p.n * tiles8 >= 2 * dev.sms) ? 8 : 4;
  const int min_tile = mma ? 4 : 1;  // the MMA epilogue needs tile*tile % 16 == 0
  while (tile > min_tile && smem_bytes(mma, elem, p.cin, p.cout, tile, p.stride) > dev.smem_optin) {
    tile /= 2;
  }
  const size_t smem = smem_bytes(mma, elem, p.cin, p.cout, tile, p.stride);
  TORCH_CHECK(smem <= dev.smem_optin, "fused_basic_block: Cin=", p.cin, ", Cout=", p.cout,
              " needs ", smem, " bytes of shared memory per CTA, more than this GPU's ",
              dev.smem_optin);
  p.tile = tile;
  p.tiles_y = (p.ho + tile - 1) / tile;
  p.tiles_x = (p.wo + tile - 1) / tile;
  p.mid_side = tile + 2;
  p.in_side = (p.mid_side - 1) * p.stride + 3;
  TORCH_CHECK(static_cast<int64_t>(p.n) * p.tiles_y * p.tiles_x < (int64_t{1} << 31),
              "fused_basic_block: too many tiles for one launch; split the batch");
  return smem;
}

}  // namespace fused_detail
}  // namespace lit
