// lit_emu::fused_basic_block: the CUDA kernels of lit::fused_basic_block run on the host emulator.
// Same checks (check_inputs, check_out), planning (make_params, use_mma, plan_tiles), shared-memory
// opt-in (kernel_cache) and code check (check_mma_code) and the same kernel source as the GPU
// build. Knobs: `sms` steers the tile choice (large -> tile 4, small -> tile 8); `mma` the kernel
// (0 CUDA cores, 1 tensor cores where use_mma allows, 2 tensor cores even where it does not);
// `code_arch` the PTX version the emulated library holds; `device` the device index; `opt_in`
// whether the launcher raises the shared-memory limit; `ctas`/`seed` the concurrent CTAs and order.
#include "cuda_emulator.h"
// (the emulator header must come first: it defines the CUDA keywords the kernels use)
#include <torch/library.h>

#include <limits>
#include <thread>
#include <vector>

#include "cuda/fused_basic_block_kernels.cuh"

namespace {

using namespace lit;
using namespace lit::fused_detail;

struct Knobs {
  int64_t sms, mma, code_arch, device;
  bool opt_in;
  int64_t ctas, seed;
};

template <typename Kernel>
void launch(Kernel kernel, const Params& p, int threads, size_t smem, const Knobs& k) {
  const void* key = reinterpret_cast<const void*>(kernel);
  const int device = static_cast<int>(k.device);
  if (k.opt_in) {  // what fused_basic_block_cuda.cu's launch() does, with the emulated attribute
    kernel_cache().ensure_smem(key, device, smem, [&](size_t bytes) {
      lit_emu::func_attributes.set(key, device, bytes);
    });
  }
  lit_emu::LaunchConfig cfg;
  cfg.device = device;
  cfg.concurrent_ctas = static_cast<int>(k.ctas);
  cfg.seed = static_cast<uint64_t>(k.seed);
  lit_emu::launch(kernel, p, p.n * p.tiles_y * p.tiles_x, threads, smem, cfg);
}

template <typename T>
void run(Params p, const DeviceInfo& dev, bool mma, const Knobs& k) {
  const size_t smem = plan_tiles(p, dev, mma, sizeof(T));
  if constexpr (!std::is_same_v<T, float>) {
    if (mma) {
      check_mma_code(static_cast<int>(k.code_arch), dev.major);
      if (p.cout % 32 == 0) {
        launch(block_mma<T, 4>, p, kMmaThreads, smem, k);
      } else {
        launch(block_mma<T, 2>, p, kMmaThreads, smem, k);
      }
      return;
    }
  }
  launch(block_simt<T>, p, kSimtThreads, smem, k);
}

DeviceInfo emulated_device(int64_t sms, int64_t mma) {
  return {static_cast<int>(sms), mma ? 9 : 7, 227 * 1024};  // an H100-like budget
}

bool choose_mma(const Params& p, at::ScalarType dtype, const DeviceInfo& dev, int64_t mma) {
  if (mma == 2) return dtype != at::kFloat;  // forced: skips the alignment conditions
  return use_mma(p, dtype, dev);
}

at::Tensor& emulated_out(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                         const at::Tensor& w2, const at::Tensor& b2,
                         const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                         int64_t shortcut, int64_t stride, int64_t sms, int64_t mma,
                         int64_t code_arch, int64_t device, bool opt_in, int64_t ctas,
                         int64_t seed, at::Tensor& out) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  check_out(out, s, x, w1, b1, w2, b2, ws, bs);
  const Params p = make_params(x, w1, b1, w2, b2, ws, bs, out, s);
  const DeviceInfo dev = emulated_device(sms, mma);
  const bool use = choose_mma(p, x.scalar_type(), dev, mma);
  const Knobs k{sms, mma, code_arch, device, opt_in, ctas, seed};
  switch (x.scalar_type()) {
    case at::kFloat:
      run<float>(p, dev, false, k);
      break;
    case at::kHalf:
      run<at::Half>(p, dev, use, k);
      break;
    default:
      run<at::BFloat16>(p, dev, use, k);
  }
  return out;
}

at::Tensor emulated(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                    const at::Tensor& w2, const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
                    const c10::optional<at::Tensor>& bs, int64_t shortcut, int64_t stride,
                    int64_t sms, int64_t mma, int64_t code_arch, int64_t device, bool opt_in,
                    int64_t ctas, int64_t seed) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  at::Tensor out = empty_out(x, s).fill_(std::numeric_limits<float>::quiet_NaN());
  return emulated_out(x, w1, b1, w2, b2, ws, bs, shortcut, stride, sms, mma, code_arch, device,
                      opt_in, ctas, seed, out);
}

// [uses tensor cores (0/1), tile side] for the same arguments.
std::vector<int64_t> plan(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                          const at::Tensor& w2, const at::Tensor& b2,
                          const c10::optional<at::Tensor>& ws, const c10::optional<at::Tensor>& bs,
                          int64_t shortcut, int64_t stride, int64_t sms, int64_t mma) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  at::Tensor out = empty_out(x, s);
  Params p = make_params(x, w1, b1, w2, b2, ws, bs, out, s);
  const DeviceInfo dev = emulated_device(sms, mma);
  const bool use = choose_mma(p, x.scalar_type(), dev, mma);
  plan_tiles(p, dev, use, x.element_size());
  return {use ? 1 : 0, p.tile};
}

// `threads` host threads raise the shared-memory opt-in of `kernels` x `devices` (device indices
// 0, 100, 200, ...) through kernel_cache() with random sizes; returns, per (kernel, device), the
// emulated attribute minus the largest size requested (0 everywhere when the cache is sound).
std::vector<int64_t> opt_in_race(int64_t threads, int64_t rounds, int64_t kernels,
                                 int64_t devices) {
  KernelCache cache;
  lit_emu::FuncAttributes attrs;
  std::vector<std::vector<size_t>> wanted(threads, std::vector<size_t>(kernels * devices, 0));
  std::vector<std::thread> pool;
  std::vector<char> keys(kernels);
  for (int64_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t));
      for (int64_t r = 0; r < rounds; ++r) {
        const int64_t kd = static_cast<int64_t>(rng() % (kernels * devices));
        const void* key = &keys[kd / devices];
        const int device = static_cast<int>(kd % devices) * 100;
        const size_t bytes = 48 * 1024 + 1 + rng() % (180 * 1024);
        cache.ensure_smem(key, device, bytes, [&](size_t b) {
          std::this_thread::yield();  // widen the window a racy cache would lose
          attrs.set(key, device, b);
        });
        wanted[t][kd] = std::max(wanted[t][kd], bytes);
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<int64_t> diff;
  for (int64_t kd = 0; kd < kernels * devices; ++kd) {
    size_t most = 48 * 1024;
    for (int64_t t = 0; t < threads; ++t) most = std::max(most, wanted[t][kd]);
    const size_t got = attrs.get(&keys[kd / devices], static_cast<int>(kd % devices) * 100);
    diff.push_back(static_cast<int64_t>(got) - static_cast<int64_t>(most));
  }
  return diff;
}

}  // namespace

TORCH_LIBRARY(lit_emu, m) {
  m.def(
      "fused_basic_block(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride, int sms, int mma, int code_arch=90, int device=0, "
      "bool opt_in=True, int ctas=4, int seed=0) -> Tensor",
      &emulated);
  m.def(
      "fused_basic_block.out(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, "
      "Tensor? bs, int shortcut, int stride, int sms, int mma, int code_arch=90, int device=0, "
      "bool opt_in=True, int ctas=4, int seed=0, *, Tensor(a!) out) -> Tensor(a!)",
      &emulated_out);
  m.def(
      "plan(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor? ws, Tensor? bs, "
      "int shortcut, int stride, int sms, int mma) -> int[]",
      &plan);
  m.def("opt_in_race(int threads, int rounds, int kernels, int devices) -> int[]", &opt_in_race);
}
