// Error checks of the CUDA backend: each failed call throws sr::DeviceError naming the call,
// file:line and the library's own message. Every kernel launch is followed by
// CUDA_CHECK_LAUNCH().
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/error.h"

namespace sr::cuda {

[[noreturn]] void throw_cuda_error(const char* call, const char* file, int line, const char* lib,
                                   const char* message);
const char* cublas_status_string(cublasStatus_t s);

}  // namespace sr::cuda

#define CUDA_CHECK(call)                                              \
  do {                                                                \
    cudaError_t sr_err_ = (call);                                     \
    if (sr_err_ != cudaSuccess)                                       \
      ::sr::cuda::throw_cuda_error(#call, __FILE__, __LINE__, "CUDA", \
                                   cudaGetErrorString(sr_err_));      \
  } while (0)

#define CUDNN_CHECK(call)                                              \
  do {                                                                 \
    cudnnStatus_t sr_st_ = (call);                                     \
    if (sr_st_ != CUDNN_STATUS_SUCCESS)                                \
      ::sr::cuda::throw_cuda_error(#call, __FILE__, __LINE__, "cuDNN", \
                                   cudnnGetErrorString(sr_st_));       \
  } while (0)

#define CUBLAS_CHECK(call)                                                    \
  do {                                                                        \
    cublasStatus_t sr_st_ = (call);                                           \
    if (sr_st_ != CUBLAS_STATUS_SUCCESS)                                      \
      ::sr::cuda::throw_cuda_error(#call, __FILE__, __LINE__, "cuBLAS",       \
                                   ::sr::cuda::cublas_status_string(sr_st_)); \
  } while (0)

#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
