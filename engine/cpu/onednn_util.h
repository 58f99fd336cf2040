// oneDNN plumbing shared by the convolution, batch-norm and pooling kernels: the engine and
// stream, tensor -> memory descriptors, and a cache of primitives keyed by their geometry
// (creating a primitive JIT-compiles code, far too slow to repeat every step).
#pragma once

#include <omp.h>
#include <dnnl.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/tensor.h"

namespace sr::onednn {

dnnl::engine& engine();
dnnl::stream& stream();

// Descriptor of a float tensor with its actual shape and strides.
dnnl::memory::desc desc_of(const Tensor& t);
// The layout two tensors of one call share: channels_last when either is unambiguously NHWC.
// (A tensor with one channel or a 1x1 image is both NCHW and NHWC.)
MemoryFormat shared_format(const Tensor& a, const Tensor& b);
// Descriptor of a 4-d tensor dense in `fmt`, with that format's canonical strides, so oneDNN
// sees one format tag for all tensors of a call even where size-1 dims make strides ambiguous.
dnnl::memory::desc desc_of(const Tensor& t, MemoryFormat fmt);
dnnl::memory::desc desc_of(const Shape& shape, const Shape& strides);
// A memory object over the tensor's data (no copy).
dnnl::memory memory_of(const Tensor& t);
dnnl::memory memory_of(const Tensor& t, const dnnl::memory::desc& md);

// "1x2x3x4:24.12.4.1" for cache keys.
std::string key_of(const Tensor& t);

// Runs `prim` with `args` on the stream and waits.
void run(const dnnl::primitive& prim, const std::unordered_map<int, dnnl::memory>& args);

// Memory in the layout `want` holding the contents of `user` (reordered when the layouts
// differ, otherwise `user` itself).
dnnl::memory to_layout(const dnnl::memory& user, const dnnl::memory::desc& want);
// Copies `src` into `dst` (reordering) when they are different memories.
void from_layout(const dnnl::memory& src, const dnnl::memory& dst);

// A per-kernel cache of primitive bundles, keyed by a string describing the geometry and by the
// thread count: oneDNN fixes a primitive's thread split (and scratchpad) when it is created, so
// a primitive made for 2 threads would keep running 2 after the governor chose 1.
template <class T>
class PrimitiveCache {
 public:
  std::shared_ptr<T> get(const std::string& geometry,
                         const std::function<std::shared_ptr<T>()>& make) {
    std::string key = std::to_string(omp_get_max_threads()) + "t|" + geometry;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    auto v = make();
    cache_.emplace(key, v);
    return v;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<T>> cache_;
};

}  // namespace sr::onednn
