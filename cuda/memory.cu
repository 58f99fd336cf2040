// CUDA kernels for fill and copy (any strides, any dtype conversion); the CPU twins are in
// engine/cpu/memory_cpu.cpp. A dense copy of one dtype and one layout is a device-to-device
// memcpy; every other copy walks the logical index through both tensors' strides
// (cuda/strided_walk.cuh). A non-dense fill fills a dense temporary and copies it.
#include "cuda/context.h"
#include "cuda/strided_walk.cuh"
#include "engine/kernels.h"
#include "engine/math/op_dispatch.h"

namespace sr::cuda {
namespace {

template <class T>
__global__ void fill_kernel(T* __restrict__ p, int64_t n, T v) {
  SR_GRID_STRIDE(i, n) p[i] = v;
}

template <class T>
void fill_typed(Tensor& t, double value) {
  fill_kernel<T><<<grid_for(t.numel()), kThreads, 0, stream()>>>(static_cast<T*>(t.raw_data()),
                                                                 t.numel(), T(value));
  CUDA_CHECK_LAUNCH();
}

void fill_cuda(Tensor& t, double value) {
  if (t.numel() == 0) return;
  if (!t.is_dense()) {
    Tensor tmp = Tensor::empty(t.shape(), t.dtype(), Device::cuda);
    fill_cuda(tmp, value);
    kernels::copy(Device::cuda, tmp, t);
    return;
  }
  switch (t.dtype()) {
    case DType::f32:
      return fill_typed<float>(t, value);
    case DType::i32:
      return fill_typed<int32_t>(t, value);
    case DType::i64:
      return fill_typed<int64_t>(t, value);
  }
}

template <class S, class D>
__global__ void copy_kernel(const S* __restrict__ src, D* __restrict__ dst, int64_t n, Walk w) {
  SR_GRID_STRIDE(i, n) {
    int64_t off[2];
    walk_offsets<2>(w, i, off);
    dst[off[1]] = D(src[off[0]]);
  }
}

template <class S, class D>
void copy_typed(const Tensor& src, Tensor& dst) {
  Walk w = make_walk(src.shape(), {&src.strides(), &dst.strides()});
  copy_kernel<S, D><<<grid_for(src.numel()), kThreads, 0, stream()>>>(
      static_cast<const S*>(src.raw_data()), static_cast<D*>(dst.raw_data()), src.numel(), w);
  CUDA_CHECK_LAUNCH();
}

// with_dtype callbacks: the source's element type, then the destination's.
template <class S>
struct CopyTo {
  const Tensor& src;
  Tensor& dst;
  template <class D>
  void operator()() const {
    copy_typed<S, D>(src, dst);
  }
};
struct CopyFrom {
  const Tensor& src;
  Tensor& dst;
  template <class S>
  void operator()() const {
    with_dtype(dst.dtype(), CopyTo<S>{src, dst});
  }
};

void copy_cuda(const Tensor& src, Tensor& dst) {
  if (src.numel() == 0) return;
  if (src.dtype() == dst.dtype() && src.strides() == dst.strides() && src.is_dense()) {
    CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), src.nbytes(),
                               cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  with_dtype(src.dtype(), CopyFrom{src, dst});
}

}  // namespace

SR_REGISTER_KERNEL(fill, cuda, fill_cuda);
SR_REGISTER_KERNEL(copy, cuda, copy_cuda);

}  // namespace sr::cuda
