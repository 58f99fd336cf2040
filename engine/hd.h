// SR_HD marks inline functions shared by the CPU and CUDA kernels (`__host__ __device__` under
// nvcc, plain inline elsewhere), so that formulas live once and the CPU tests prove the GPU math.
#pragma once

#if defined(__CUDACC__)
#define SR_HD __host__ __device__ __forceinline__
#else
#define SR_HD inline
#endif
