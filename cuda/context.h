// The execution context of the CUDA backend: the one stream all engine work runs on, the cuBLAS
// and cuDNN handles bound to it, and one growable cuDNN workspace. Everything is created lazily
// on first use, once per device (the current device of the calling thread), so a CUDA build
// started on a machine without a GPU never touches the driver until a CUDA op is called.
//
// Ordering: our kernels, cuBLAS, cuDNN and CUB all run on stream(); the stream is a blocking
// stream, so the synchronous cudaMemcpy of the cross-device copies (device.cu) stays ordered
// with it. Host reads wait for it (cudaMemcpy to the host is synchronous).
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/cuda_check.h"

namespace sr::cuda {

cudaStream_t stream();
cublasHandle_t cublas();
cudnnHandle_t cudnn();

// A device buffer of at least `nbytes` for cuDNN (or any library call that needs scratch
// memory), from the caching allocator. Valid until the next call: one library call at a time
// uses it, in stream order, so growing it (free + allocate) never races with work in flight.
void* workspace(size_t nbytes);

// Launch geometry of a grid-stride loop over n elements: at most `max_blocks` blocks.
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int block = kThreads, int64_t max_blocks = 65535) {
  int64_t b = (n + block - 1) / block;
  if (b < 1) b = 1;
  return unsigned(b < max_blocks ? b : max_blocks);
}

}  // namespace sr::cuda
