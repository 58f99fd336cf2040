// BatchShare: a module whose random draws per batch row (dropout masks, the reparameterisation
// noise) can be those of a larger batch of which this process computes a contiguous share.
//
// Data-parallel training gives each rank rows [offset, offset + n) of every global batch of
// `rows` items and calls set_batch_share(offset, rows) before its forward pass; the module then
// draws, for each of its n rows, what one process draws for that row of the whole batch, so the
// ranks' trajectory is the one-process one up to summation order. (0, 0), the default: every
// batch is whole.
#pragma once

#include <cstdint>
#include <string>

#include "engine/error.h"

namespace sr {

class BatchShare {
 public:
  virtual ~BatchShare() = default;
  void set_batch_share(int64_t offset, int64_t rows) {
    SR_CHECK_VALUE(offset >= 0 && rows >= 0 && (rows == 0 ? offset == 0 : offset < rows),
                   "batch share from row {} of {}", offset, rows);
    share_offset_ = offset, share_rows_ = rows;
  }
  int64_t share_offset() const { return share_offset_; }
  int64_t share_rows() const { return share_rows_; }  // 0: whole batches

 protected:
  // A ShapeError naming `who` unless a batch of n rows fits the share.
  void check_share(int64_t n, const std::string& who) const {
    SR_CHECK_SHAPE(share_rows_ == 0 || share_offset_ + n <= share_rows_,
                   "{}: a batch of {} from row {} does not fit the shared batch of {}", who, n,
                   share_offset_, share_rows_);
  }

 private:
  int64_t share_offset_ = 0, share_rows_ = 0;
};

}  // namespace sr
