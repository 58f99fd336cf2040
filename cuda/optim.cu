// CUDA optimiser steps: SGD (momentum, dampening, Nesterov, L2 weight decay) and Adam over a
// list of parameter tensors, with the per-element updates of engine/math/optim_math.h (shared
// with the CPU: sgd_update / adam_update).
//
// Multi-tensor launch: every tensor is cut into chunks of kChunk elements and one launch covers
// up to kMaxTensors tensors and kMaxBlocks chunks (one block each), the pointers and the
// block -> (tensor, chunk) table travelling in the kernel's parameter block (< 4 KiB), so no
// host -> device copy is needed. A model with a few hundred parameter tensors steps in a
// handful of launches instead of one per tensor. Each element is updated by exactly one thread:
// results do not depend on the launch split.
#include "cuda/context.h"
#include "engine/kernels.h"

namespace sr::cuda {
namespace {

constexpr int kMaxTensors = 24;
constexpr int kMaxBlocks = 320;
constexpr int64_t kChunk = 65536;

// NB pointer lists per tensor (SGD: param, grad, momentum buffer; Adam: + second moment).
template <int NB>
struct TensorChunks {
  float* ptr[NB][kMaxTensors];
  int64_t n[kMaxTensors];
  unsigned char tensor[kMaxBlocks];
  int chunk[kMaxBlocks];
};

__global__ void sgd_kernel(TensorChunks<3> a, SgdHyper h) {
  const int t = a.tensor[blockIdx.x];
  const int64_t start = int64_t(a.chunk[blockIdx.x]) * kChunk;
  const int64_t end = start + kChunk < a.n[t] ? start + kChunk : a.n[t];
  float* p = a.ptr[0][t];
  const float* g = a.ptr[1][t];
  float* buf = a.ptr[2][t];
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) {
    float dummy = 0.f;
    sgd_update(p + i, g[i], buf ? buf + i : &dummy, h);
  }
}

__global__ void adam_kernel(TensorChunks<4> a, AdamHyper h) {
  const int t = a.tensor[blockIdx.x];
  const int64_t start = int64_t(a.chunk[blockIdx.x]) * kChunk;
  const int64_t end = start + kChunk < a.n[t] ? start + kChunk : a.n[t];
  float* p = a.ptr[0][t];
  const float* g = a.ptr[1][t];
  float* m = a.ptr[2][t];
  float* v = a.ptr[3][t];
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x)
    adam_update(p + i, g[i], m + i, v + i, h);
}

// Walks the tensors' chunks, filling TensorChunks and calling launch(args, blocks) whenever the
// tensor or block table is full. lists[b][k] is tensor k's b-th pointer (nullptr allowed for
// optional buffers).
template <int NB, class Launch>
void for_chunks(const std::vector<const std::vector<Tensor>*>& lists, Launch launch) {
  TensorChunks<NB> a{};
  int nt = 0, nb = 0;
  const std::vector<Tensor>& params = *lists[0];
  for (size_t k = 0; k < params.size(); ++k) {
    const int64_t n = params[k].numel();
    if (n == 0) continue;
    for (int b = 0; b < NB; ++b) {
      const Tensor& t = (*lists[size_t(b)])[k];
      a.ptr[b][nt] = t.defined() ? t.data<float>() : nullptr;
    }
    a.n[nt] = n;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    for (int64_t c = 0; c < chunks; ++c) {
      a.tensor[nb] = static_cast<unsigned char>(nt);
      a.chunk[nb] = int(c);
      ++nb;
      if (nb == kMaxBlocks) {
        launch(a, nb);
        nb = 0;
        // A tensor with chunks left continues as tensor 0 of the next launch.
        for (int b = 0; b < NB; ++b) a.ptr[b][0] = a.ptr[b][nt];
        a.n[0] = a.n[nt];
        nt = 0;
      }
    }
    // Next tensor slot; when the last launch just took this tensor's final chunk, slot 0 is
    // free again.
    if (nb == 0) {
      nt = 0;
      continue;
    }
    if (++nt == kMaxTensors) {
      launch(a, nb);
      nb = 0;
      nt = 0;
    }
  }
  if (nb > 0) launch(a, nb);
}

void sgd_step_cuda(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& bufs, const SgdHyper& h) {
  // Missing momentum buffers (momentum 0) become nullptr entries.
  std::vector<Tensor> b = bufs;
  b.resize(params.size());
  for_chunks<3>({&params, &grads, &b}, [&](const TensorChunks<3>& a, int blocks) {
    sgd_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(a, h);
    CUDA_CHECK_LAUNCH();
  });
}

void adam_step_cuda(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                    const std::vector<Tensor>& m, const std::vector<Tensor>& v,
                    const AdamHyper& h) {
  for_chunks<4>({&params, &grads, &m, &v}, [&](const TensorChunks<4>& a, int blocks) {
    adam_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(a, h);
    CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

SR_REGISTER_KERNEL(sgd_step, cuda, sgd_step_cuda);
SR_REGISTER_KERNEL(adam_step, cuda, adam_step_cuda);

}  // namespace sr::cuda
