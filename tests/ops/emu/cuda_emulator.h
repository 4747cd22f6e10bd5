// A small host emulator for the fused-block CUDA kernels, so their indexing can be tested without
// a GPU. Each CUDA thread of a CTA is a std::thread; __syncthreads is a CTA-wide std::barrier;
// mma.sync.m16n8k16 is a warp-wide exchange (every lane posts its fragments, waits for the warp,
// computes its own accumulators from the PTX ISA fragment layout, waits again).
//
// Like a GPU, and unlike a loop over CTAs, it runs several CTAs at once in a shuffled order (so a
// kernel whose CTAs depend on each other's timing, e.g. out aliasing x, gives wrong results), it
// rejects misaligned 16-byte accesses, and a launch with more than 48 KB of dynamic shared memory
// fails unless that kernel was opted in on that device (cudaFuncSetAttribute, emulated below).
//
// What it checks: tile/halo/stride/padding arithmetic, shared-memory layout, fragment gathers and
// epilogues, the shortcut paths, that every output element is written. What it cannot check:
// timing, bank conflicts, real memory-model races, and whether the PTX layout below is the
// hardware's (it is written from the PTX ISA table; the GPU test in test_fused_op_cuda.py is
// the final word).
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
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

// The first fault a launch hit (misaligned access, ...); reported when the launch ends.
struct Faults {
  std::mutex mu;
  std::string first;
  void record(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    if (first.empty()) first = what;
  }
};
inline Faults faults;

inline void check_aligned(const void* p, uintptr_t bytes, const char* what) {
  if (reinterpret_cast<uintptr_t>(p) % bytes != 0) {
    faults.record(std::string("misaligned address: ") + what + " at " +
                  std::to_string(reinterpret_cast<uintptr_t>(p)) + " is not " +
                  std::to_string(bytes) + "-byte aligned");
  }
}

// Emulated cudaFuncAttributeMaxDynamicSharedMemorySize, per (kernel, device).
struct FuncAttributes {
  std::mutex mu;
  std::map<std::pair<const void*, int>, size_t> max_dynamic_smem;
  void set(const void* kernel, int device, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu);
    max_dynamic_smem[{kernel, device}] = bytes;  // like the driver: the last call wins
  }
  size_t get(const void* kernel, int device) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = max_dynamic_smem.find({kernel, device});
    return it == max_dynamic_smem.end() ? 48 * 1024 : it->second;
  }
};
inline FuncAttributes func_attributes;

struct LaunchConfig {
  int device = 0;
  size_t device_smem_optin = 227 * 1024;
  int concurrent_ctas = 4;  // CTAs resident at once
  uint64_t seed = 0;        // order in which CTAs start
};

// Run kernel(params) on a grid of `blocks` CTAs of `threads` threads, `concurrent_ctas` at a time
// in a shuffled order. Throws (like a failed launch or a sticky CUDA error) on a fault.
template <typename Params>
void launch(void (*kernel)(Params), const Params& p, int blocks, int threads, size_t smem,
            const LaunchConfig& cfg) {
  const void* key = reinterpret_cast<const void*>(kernel);
  if (smem > func_attributes.get(key, cfg.device) || smem > cfg.device_smem_optin) {
    throw std::runtime_error("emulated launch failed (cudaErrorInvalidValue): " +
                             std::to_string(smem) + " bytes of dynamic shared memory, but device " +
                             std::to_string(cfg.device) + " allows this kernel " +
                             std::to_string(func_attributes.get(key, cfg.device)) +
                             " (opt in with cudaFuncSetAttribute first)");
  }
  std::vector<int> order(blocks);
  for (int i = 0; i < blocks; ++i) order[i] = i;
  std::mt19937_64 rng(cfg.seed);
  std::shuffle(order.begin(), order.end(), rng);
  {
    std::lock_guard<std::mutex> lock(faults.mu);
    faults.first.clear();
  }
  const int wave = std::max(1, cfg.concurrent_ctas);
  for (int start = 0; start < blocks; start += wave) {
    const int count = std::min(wave, blocks - start);
    std::vector<std::unique_ptr<Cta>> ctas;
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(count) * threads);
    for (int c = 0; c < count; ++c) {
      ctas.push_back(std::make_unique<Cta>(threads, smem));
      std::memset(ctas.back()->shared.data(), 0xFF, ctas.back()->shared.size());  // poison (NaN)
    }
    // Start the CTAs' threads interleaved (thread 0 of every CTA, then thread 1, ...).
    for (int tx = 0; tx < threads; ++tx) {
      for (int c = 0; c < count; ++c) {
        Cta* cta_ptr = ctas[c].get();
        const int bx = order[start + c];
        pool.emplace_back([&p, kernel, cta_ptr, bx, tx, threads] {
          cta = cta_ptr;
          thread_idx = {static_cast<unsigned>(tx), 0, 0};
          block_idx = {static_cast<unsigned>(bx), 0, 0};
          block_dim = {static_cast<unsigned>(threads), 1, 1};
          kernel(p);
        });
      }
    }
    for (auto& t : pool) t.join();
  }
  std::lock_guard<std::mutex> lock(faults.mu);
  if (!faults.first.empty()) throw std::runtime_error("emulated kernel fault: " + faults.first);
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
