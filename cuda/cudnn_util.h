// Small RAII wrappers of cuDNN descriptors and the 4-d tensor descriptors of engine tensors
// (NCHW or NHWC strides, float32), shared by conv_cudnn.cu and norm_pool_cudnn.cu.
#pragma once

#include <limits>
#include <string>

#include "cuda/context.h"
#include "engine/tensor.h"

namespace sr::cuda {

template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class CudnnDesc {
 public:
  CudnnDesc() { CUDNN_CHECK(Create(&d_)); }
  ~CudnnDesc() { (void)Destroy(d_); }
  CudnnDesc(const CudnnDesc&) = delete;
  CudnnDesc& operator=(const CudnnDesc&) = delete;
  operator T() const { return d_; }

 private:
  T d_{};
};

using TensorDesc =
    CudnnDesc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc =
    CudnnDesc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = CudnnDesc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                           cudnnDestroyConvolutionDescriptor>;
using PoolDesc = CudnnDesc<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor,
                           cudnnDestroyPoolingDescriptor>;

inline int to_int(int64_t v, const char* what) {
  SR_CHECK_VALUE(v >= 0 && v <= std::numeric_limits<int>::max(),
                 "cuDNN: {} = {} exceeds its 32-bit sizes", what, v);
  return int(v);
}

// A (N, C, H, W) float32 tensor with its own strides.
inline void set_4d(cudnnTensorDescriptor_t d, const Tensor& t) {
  SR_CHECK_SHAPE(t.dim() == 4, "cuDNN: expected a 4-d tensor, got {}", t.str());
  SR_CHECK_VALUE(t.numel() <= std::numeric_limits<int>::max(),
                 "cuDNN: {} has more elements than its 32-bit sizes allow", t.str());
  CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(
      d, CUDNN_DATA_FLOAT, to_int(t.size(0), "N"), to_int(t.size(1), "C"), to_int(t.size(2), "H"),
      to_int(t.size(3), "W"), to_int(t.stride(0), "stride"), to_int(t.stride(1), "stride"),
      to_int(t.stride(2), "stride"), to_int(t.stride(3), "stride")));
}

// (1, C, 1, 1): per-channel parameters and statistics.
inline void set_channels(cudnnTensorDescriptor_t d, int64_t C) {
  CUDNN_CHECK(
      cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, to_int(C, "C"), 1, 1));
}

// True when t is NHWC (channels_last and not also plain contiguous).
inline bool is_nhwc(const Tensor& t) {
  return t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(MemoryFormat::channels_last);
}

inline std::string strides_key(const Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += fmt::format("{}:{},", t.size(i), t.stride(i));
  return s;
}

}  // namespace sr::cuda
