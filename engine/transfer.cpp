// Non-blocking host -> device uploads (see transfer.h).
#include "engine/transfer.h"

#include <utility>

#include "engine/autograd.h"

namespace sr {

namespace {
UploadHooks g_hooks;
}

void set_upload_hooks(const UploadHooks& hooks) {
  g_hooks = hooks;
}

Upload::Upload(const Tensor& host, Device device) {
  check_defined(host, "Upload", "host tensor");
  SR_CHECK_T(host.device() == Device::cpu, DeviceError, "Upload: the source {} is not on the cpu",
             host.str());
  if (device == Device::cpu) {
    dst_ = host;
    return;
  }
  SR_CHECK_T(g_hooks.start != nullptr, DeviceError, "Upload to {}: this build has no CUDA backend",
             device_name(device));
  NoGradGuard ng;
  Tensor src = host.contiguous();
  dst_ = Tensor::empty(host.shape(), host.dtype(), device);
  if (src.nbytes() == 0) return;
  ticket_ = g_hooks.start(dst_.raw_data(), src.raw_data(), src.nbytes());
  pending_ = true;
}

Upload::Upload(Upload&& o) noexcept
    : dst_(std::move(o.dst_)), ticket_(o.ticket_), pending_(o.pending_) {
  o.pending_ = false;
  o.dst_ = Tensor();
}

Upload& Upload::operator=(Upload&& o) noexcept {
  if (this != &o) {
    finish();
    dst_ = std::move(o.dst_);
    ticket_ = o.ticket_;
    pending_ = o.pending_;
    o.pending_ = false;
    o.dst_ = Tensor();
  }
  return *this;
}

Upload::~Upload() {
  finish();
}

void Upload::finish() noexcept {
  if (!pending_) return;
  pending_ = false;
  g_hooks.finish(ticket_);  // the backend's finish does not throw (errors surface at the next call)
}

Tensor Upload::get() {
  SR_CHECK_VALUE(valid(), "Upload::get on an empty or consumed upload");
  finish();
  Tensor out = std::move(dst_);
  dst_ = Tensor();
  return out;
}

}  // namespace sr
