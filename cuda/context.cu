// The CUDA execution context (see context.h), the synchronize hook, and the asynchronous
// host -> device uploads of engine/transfer.h.
//
// Uploads: the host bytes are copied into a pinned staging buffer (so the caller may free its
// tensor at once), then a cudaMemcpyAsync on a separate non-blocking copy stream moves them to
// the device. The copy first waits for an event recorded on the engine stream (it must not
// overwrite memory that earlier work still reads: the destination comes from the caching
// allocator); finish() makes the engine stream wait for the copy's event. Staging buffers are
// reused once their copy's event has completed, so a warm training loop allocates no pinned
// memory.
//
// Contexts are created once per device and deliberately never destroyed: destroying handles or
// streams from static destructors after the driver has shut down crashes at exit.
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/context.h"
#include "engine/backend.h"
#include "engine/storage.h"
#include "engine/transfer.h"

namespace sr::cuda {
namespace {

constexpr int kMaxDevices = 64;

struct DeviceContext {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  cudaStream_t copy_stream = nullptr;
  cublasHandle_t blas = nullptr;
  cudnnHandle_t dnn = nullptr;
  std::mutex ws_mu;
  void* ws = nullptr;
  size_t ws_bytes = 0;
};

std::array<DeviceContext, kMaxDevices>& contexts() {
  static auto* c = new std::array<DeviceContext, kMaxDevices>();  // never destroyed (see above)
  return *c;
}

DeviceContext& context() {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  SR_CHECK_T(dev >= 0 && dev < kMaxDevices, DeviceError, "CUDA device {} out of range", dev);
  DeviceContext& c = contexts()[size_t(dev)];
  std::call_once(c.once, [&] {
    CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamDefault));
    CUDA_CHECK(cudaStreamCreateWithFlags(&c.copy_stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&c.blas));
    CUBLAS_CHECK(cublasSetStream(c.blas, c.stream));
    // Host scalars (alpha, beta) everywhere.
    CUBLAS_CHECK(cublasSetPointerMode(c.blas, CUBLAS_POINTER_MODE_HOST));
    CUDNN_CHECK(cudnnCreate(&c.dnn));
    CUDNN_CHECK(cudnnSetStream(c.dnn, c.stream));
  });
  return c;
}

void sync_all() {
  CUDA_CHECK(cudaDeviceSynchronize());
}

// ---------------------------------------------------------------- uploads

struct Staging {
  void* host = nullptr;  // pinned
  size_t bytes = 0;
  cudaEvent_t done = nullptr;  // recorded after the copy that last read this buffer
  bool used = false;
};

class Uploader {
 public:
  uint64_t start(void* dst, const void* src, size_t nbytes) {
    DeviceContext& c = context();
    std::lock_guard<std::mutex> lock(mu_);
    Staging& s = staging_for(nbytes);
    std::memcpy(s.host, src, nbytes);
    cudaEvent_t ready = take_event();
    CUDA_CHECK(cudaEventRecord(ready, c.stream));
    CUDA_CHECK(cudaStreamWaitEvent(c.copy_stream, ready, 0));
    release_event(ready);  // the wait is enqueued: the event may be recorded again
    CUDA_CHECK(cudaMemcpyAsync(dst, s.host, nbytes, cudaMemcpyHostToDevice, c.copy_stream));
    CUDA_CHECK(cudaEventRecord(s.done, c.copy_stream));
    s.used = true;
    cudaEvent_t copied = take_event();
    CUDA_CHECK(cudaEventRecord(copied, c.copy_stream));
    uint64_t ticket = ++next_ticket_;
    pending_[ticket] = copied;
    return ticket;
  }

  // No throw (Upload's destructor calls it): an error here resurfaces at the next CUDA call.
  void finish(uint64_t ticket) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(ticket);
    if (it == pending_.end()) return;
    try {
      (void)cudaStreamWaitEvent(context().stream, it->second, 0);
    } catch (...) {
    }
    free_events_.push_back(it->second);
    pending_.erase(it);
  }

 private:
  Staging& staging_for(size_t nbytes) {
    // Smallest idle buffer that fits; an idle buffer's last copy has completed.
    Staging* best = nullptr;
    for (auto& s : staging_) {
      if (s->bytes < nbytes) continue;
      if (s->used && cudaEventQuery(s->done) != cudaSuccess) {
        (void)cudaGetLastError();  // cudaErrorNotReady is not an error
        continue;
      }
      if (!best || s->bytes < best->bytes) best = s.get();
    }
    if (best) return *best;
    auto s = std::make_unique<Staging>();
    s->bytes = nbytes < 4096 ? 4096 : nbytes;
    CUDA_CHECK(cudaHostAlloc(&s->host, s->bytes, cudaHostAllocDefault));
    CUDA_CHECK(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming));
    staging_.push_back(std::move(s));
    return *staging_.back();
  }
  cudaEvent_t take_event() {
    if (!free_events_.empty()) {
      cudaEvent_t e = free_events_.back();
      free_events_.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    return e;
  }
  void release_event(cudaEvent_t e) { free_events_.push_back(e); }

  std::mutex mu_;
  std::vector<std::unique_ptr<Staging>> staging_;
  std::vector<cudaEvent_t> free_events_;
  std::unordered_map<uint64_t, cudaEvent_t> pending_;
  uint64_t next_ticket_ = 0;
};

Uploader& uploader() {
  static auto* u = new Uploader();  // never destroyed (see the header comment)
  return *u;
}

uint64_t upload_start(void* dst, const void* src, size_t nbytes) {
  return uploader().start(dst, src, nbytes);
}
void upload_finish(uint64_t ticket) {
  uploader().finish(ticket);
}

struct Registration {
  Registration() {
    set_cuda_sync_fn(&sync_all);
    UploadHooks h;
    h.start = &upload_start;
    h.finish = &upload_finish;
    set_upload_hooks(h);
  }
};
const Registration registration;

}  // namespace

cudaStream_t stream() {
  return context().stream;
}
cublasHandle_t cublas() {
  return context().blas;
}
cudnnHandle_t cudnn() {
  return context().dnn;
}

void* workspace(size_t nbytes) {
  DeviceContext& c = context();
  std::lock_guard<std::mutex> lock(c.ws_mu);
  if (nbytes <= c.ws_bytes) return c.ws;
  Allocator& a = allocator_for(Device::cuda);
  if (c.ws) a.deallocate(c.ws, c.ws_bytes);  // stream-ordered: earlier users are queued first
  c.ws = nullptr;
  c.ws_bytes = 0;
  size_t grow = nbytes + nbytes / 4;
  c.ws = a.allocate(grow);
  c.ws_bytes = grow;
  return c.ws;
}

}  // namespace sr::cuda
