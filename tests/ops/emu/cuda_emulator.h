// A small host emulator for the fused-block CUDA kernels, so their indexing can be tested without
// a GPU. Each CUDA thread of a CTA is a std::thread; __syncthreads is a CTA-wide std::barrier;
// mma.sync.m16n8k16 is a warp-wide exchange (every lane posts its fragments, waits for the warp,
// computes its own accumulators from the PTX ISA fragment layout, waits again).
//
// What it checks: tile/halo/stride/padding arithmetic, shared-memory layout, fragment gathers and
// epilogues, the shortcut paths, that every output element is written. What it cannot check:
// timing, bank conflicts, real memory-model races, and whether the PTX layout below is the
// hardware's (it is written from the PTX ISA table; the GPU test in test_fused_op_cuda.py is
// the final word).
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#define LIT_EMULATE_CUDA 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

struct EmuDim3 {
  unsigned x = 0, y = 0, z = 0;
};
struct uint4 {
  unsigned x, y, z, w;
};
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

namespace lit_emu {

struct Warp {
  uint32_t a[32][4];
  uint32_t b[32][2];
  std::barrier<> sync{32};
};

struct Cta {
  explicit Cta(int threads, size_t smem)
      : sync(threads), shared(smem + 16), warps(threads / 32) {
    for (auto& w : warps) w = std::make_unique<Warp>();
  }
  std::barrier<> sync;
  std::vector<unsigned char> shared;
  std::vector<std::unique_ptr<Warp>> warps;
};

inline thread_local Cta* cta = nullptr;
inline thread_local EmuDim3 thread_idx, block_idx, block_dim;

inline unsigned char* shared_mem() {
  auto p = reinterpret_cast<uintptr_t>(cta->shared.data());
  return reinterpret_cast<unsigned char*>((p + 15) & ~uintptr_t{15});
}

template <typename T>
float half_bits_to_float(uint16_t bits) {
  return static_cast<float>(T(bits, T::from_bits()));
}

// d += A(16x16) B(16x8) for this lane, with A/B gathered from the warp's posted fragments.
template <typename T>
void mma_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const int lane = thread_idx.x % 32;
  Warp& w = *cta->warps[thread_idx.x / 32];
  std::memcpy(w.a[lane], a, sizeof(a));
  std::memcpy(w.b[lane], b, sizeof(b));
  w.sync.arrive_and_wait();
  auto A = [&](int row, int k) {  // a[0]: (g, 2t..), a[1]: (g+8, 2t..), a[2]: (g, 2t+8..), a[3]
    const int src = (row % 8) * 4 + (k % 8) / 2;
    const int reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
    return half_bits_to_float<T>(static_cast<uint16_t>(w.a[src][reg] >> (16 * (k % 2))));
  };
  auto B = [&](int k, int n) {  // b[0]: (k = 2t.., n = g), b[1]: (k = 2t+8.., n = g)
    const int src = n * 4 + (k % 8) / 2;
    return half_bits_to_float<T>(static_cast<uint16_t>(w.b[src][k >= 8 ? 1 : 0] >> (16 * (k % 2))));
  };
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i % 2);
    float acc = 0.f;
    for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
    d[i] += acc;
  }
  w.sync.arrive_and_wait();
}

// Run kernel(params) on a grid of `blocks` CTAs of `threads` threads, one CTA at a time.
template <typename Params>
void launch(void (*kernel)(Params), const Params& p, int blocks, int threads, size_t smem) {
  for (int bx = 0; bx < blocks; ++bx) {
    Cta c(threads, smem);
    std::memset(c.shared.data(), 0xFF, c.shared.size());  // poison shared memory (NaN bits)
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int tx = 0; tx < threads; ++tx) {
      pool.emplace_back([&, tx] {
        cta = &c;
        thread_idx = {static_cast<unsigned>(tx), 0, 0};
        block_idx = {static_cast<unsigned>(bx), 0, 0};
        block_dim = {static_cast<unsigned>(threads), 1, 1};
        kernel(p);
      });
    }
    for (auto& t : pool) t.join();
  }
}

}  // namespace lit_emu

#define threadIdx (lit_emu::thread_idx)
#define blockIdx (lit_emu::block_idx)
#define blockDim (lit_emu::block_dim)
#define __syncthreads() (lit_emu::cta->sync.arrive_and_wait())
#define __trap() std::abort()
#define LIT_DYNAMIC_SMEM(name) unsigned char* name = lit_emu::shared_mem()

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
