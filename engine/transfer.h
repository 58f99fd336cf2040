// Upload: a host -> device copy that does not block the host and overlaps device work.
//
//   Upload next(batch.images, Device::cuda);   // starts: staged in pinned memory, DMA on the
//   ...issue this step's work...               // backend's copy stream, concurrent with the
//   Tensor x = next.get();                     // work already queued; get() orders later work
//                                              // after the copy
//
// The host tensor may be changed or freed as soon as the constructor returns (its bytes are
// staged). The copy waits for device work issued before it (so it never overwrites memory that
// work still reads) and device work issued after get() waits for the copy; work issued between
// the two runs concurrently with it. Destroying an Upload without get() still orders later work
// after the copy. On the CPU (or when the CUDA backend is absent and device is cpu) there is no
// copy: get() returns the host tensor.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/tensor.h"

namespace sr {

// Filled by the CUDA backend. start: stages `nbytes` of host `src`, queues the copy into device
// `dst` and returns a ticket; finish: makes later device work wait for the ticket's copy.
struct UploadHooks {
  uint64_t (*start)(void* dst, const void* src, size_t nbytes) = nullptr;
  void (*finish)(uint64_t ticket) = nullptr;
};
void set_upload_hooks(const UploadHooks& hooks);

class Upload {
 public:
  Upload() = default;
  // Starts copying `host` (a CPU tensor) to `device`; the result is contiguous.
  Upload(const Tensor& host, Device device);
  Upload(Upload&& o) noexcept;
  Upload& operator=(Upload&& o) noexcept;
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  ~Upload();

  bool valid() const { return dst_.defined(); }
  // The tensor on the device; later device work is ordered after the copy.
  Tensor get();

 private:
  void finish() noexcept;

  Tensor dst_;
  uint64_t ticket_ = 0;
  bool pending_ = false;
};

}  // namespace sr
