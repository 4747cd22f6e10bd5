// CUDA kernels of lit::fused_basic_block: one launch per residual block.
//
// Design
// ------
// The output (N x Ho x Wo) is cut into tile x tile pixel squares; one CTA computes one square of
// one image, so the grid has N * ceil(Ho/tile) * ceil(Wo/tile) CTAs (tile 8 when that gives at least
// two CTAs per SM, else tile 4, so batch 1 still spreads over several SMs). Per CTA:
//   1. the input patch the square needs - (tile+1)*stride + 3 pixels a side, all Cin channels -
//      is copied to shared memory (zeros outside the image; 16-byte loads on the MMA path);
//   2. conv1 + b1 + ReLU is computed for the square plus a 1-pixel halo ("mid" tile, (tile+2)^2
//      pixels x Cout) into shared memory, in x's dtype. Mid pixels outside the image are conv2's
//      zero padding and are stored as 0. The intermediate activation never reaches global memory;
//   3. conv2 + b2 + shortcut + ReLU is computed for the square from the mid tile and written out.
//      The shortcut reads the centre pixels of the input patch already in shared memory; option B's
//      1x1 conv is one more K pass into the same accumulators.
//
// Two kernels:
//   * block_mma<T, NF> (fp16/bf16, Cin and Cout multiples of 16, sm_80+): implicit GEMM on tensor
//     cores with mma.sync.m16n8k16 (fp32 accumulators). M = pixels (16 per fragment, each lane
//     gathers its two rows straight from the NHWC tile, so any tile shape and stride work),
//     N = output channels (NF fragments of 8 per warp item), K = 9 taps x input channels.
//     B fragments (weights) are read from global memory through the read-only cache: every CTA
//     reads the same few KB, so they stay in L1/L2. Shared-memory pixel rows are padded by 8
//     elements so the 8 rows a warp reads per load fall in distinct banks.
//   * block_simt<T> (fp32, or any channel count): the same three phases on CUDA cores, one
//     (pixel, output channel) per thread iteration, fp32 in shared memory.
// Both run on PyTorch's current stream, so CUDA graphs and event timing see them.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cstdint>
#include <type_traits>

#include "../fused_basic_block.h"
#include "fused_basic_block_kernels.cuh"

namespace lit {
namespace {

using namespace fused_detail;

// Host side: device properties, launch on the current stream, dtype dispatch. The planning
// (tile size, kernel choice) lives in fused_basic_block_kernels.cuh, shared with the emulator.

// The few device properties the launcher needs (cudaDeviceGetAttribute is cheap; it also keeps
// this file free of ATen/cuda/CUDAContext.h, which needs the cuBLAS/cuSPARSE headers).
DeviceInfo device_info(int device) {
  int sms = 0, major = 0, smem = 0;
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  C10_CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return {sms, major, static_cast<size_t>(smem)};
}

// Launch `Kernel` on the grid planned in `p`. Shared memory above 48 KB needs a per-kernel,
// per-device opt-in, raised through the thread-safe kernel_cache() (see the .cuh).
template <auto Kernel>
void launch(const Params& p, int device, int threads, size_t smem, cudaStream_t stream) {
  const void* key = reinterpret_cast<const void*>(Kernel);
  kernel_cache().ensure_smem(key, device, smem, [&](size_t bytes) {
    C10_CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(bytes)));
  });
  Kernel<<<p.n * p.tiles_y * p.tiles_x, threads, smem, stream>>>(p);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

// The tensor-core kernel only where the library holds sm_80+ code for this device.
template <auto Kernel>
void check_code(int device, const DeviceInfo& dev) {
  const int ptx = kernel_cache().code_version(reinterpret_cast<const void*>(Kernel), device, [] {
    cudaFuncAttributes attr{};
    C10_CUDA_CHECK(cudaFuncGetAttributes(&attr, Kernel));
    return attr.ptxVersion;
  });
  check_mma_code(ptx, dev.major);
}

template <typename T>
void run_block(Params p, int device, const DeviceInfo& dev, bool use_mma) {
  const size_t smem = plan_tiles(p, dev, use_mma, sizeof(T));
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device).stream();
  if constexpr (!std::is_same_v<T, float>) {
    if (use_mma) {
      if (p.cout % 32 == 0) {
        check_code<block_mma<T, 4>>(device, dev);
        launch<block_mma<T, 4>>(p, device, kMmaThreads, smem, stream);
      } else {
        check_code<block_mma<T, 2>>(device, dev);
        launch<block_mma<T, 2>>(p, device, kMmaThreads, smem, stream);
      }
      return;
    }
  }
  launch<block_simt<T>>(p, device, kSimtThreads, smem, stream);
}

at::Tensor& fused_basic_block_out_cuda(const at::Tensor& x, const at::Tensor& w1,
                                       const at::Tensor& b1, const at::Tensor& w2,
                                       const at::Tensor& b2, const c10::optional<at::Tensor>& ws,
                                       const c10::optional<at::Tensor>& bs, int64_t shortcut,
                                       int64_t stride, at::Tensor& out) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  check_out(out, s, x, w1, b1, w2, b2, ws, bs);
  if (s.n == 0) return out;
  TORCH_CHECK(x.is_cuda(), "fused_basic_block: CUDA kernel called with a CPU tensor");
  c10::cuda::CUDAGuard guard(x.device());
  const Params p = make_params(x, w1, b1, w2, b2, ws, bs, out, s);
  const int device = x.get_device();
  const DeviceInfo dev = device_info(device);
  const bool mma = use_mma(p, x.scalar_type(), dev);
  switch (x.scalar_type()) {
    case at::kFloat:
      run_block<float>(p, device, dev, false);
      break;
    case at::kHalf:
      run_block<at::Half>(p, device, dev, mma);
      break;
    case at::kBFloat16:
      run_block<at::BFloat16>(p, device, dev, mma);
      break;
    default:
      TORCH_CHECK(false, "fused_basic_block: unsupported dtype ", x.scalar_type());
  }
  return out;
}

at::Tensor fused_basic_block_cuda(const at::Tensor& x, const at::Tensor& w1, const at::Tensor& b1,
                                  const at::Tensor& w2, const at::Tensor& b2,
                                  const c10::optional<at::Tensor>& ws,
                                  const c10::optional<at::Tensor>& bs, int64_t shortcut,
                                  int64_t stride) {
  const BlockShape s = check_inputs(x, w1, b1, w2, b2, ws, bs, shortcut, stride);
  at::Tensor out = empty_out(x, s);
  return fused_basic_block_out_cuda(x, w1, b1, w2, b2, ws, bs, shortcut, stride, out);
}

}  // namespace
}  // namespace lit

TORCH_LIBRARY_IMPL(lit, CUDA, m) {
  m.impl("fused_basic_block", &lit::fused_basic_block_cuda);
  m.impl("fused_basic_block.out", &lit::fused_basic_block_out_cuda);
}
