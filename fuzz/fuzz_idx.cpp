// Fuzz target: the IDX reader (MNIST family, plain and gzip) on an images/labels pair held in
// memory, then every item read back.
#include <algorithm>
#include <span>
#include <vector>

#include "data/idx.h"
#include "fuzz/fuzz_targets.h"

namespace sr::fuzz {

void idx_input(const uint8_t* data, size_t size) {
  if (size < 2) return;
  size_t len = std::min<size_t>(size_t(data[0]) | size_t(data[1]) << 8, size - 2);
  std::span<const uint8_t> images(data + 2, len), labels(data + 2 + len, size - 2 - len);
  auto ds = parse_idx_pair("mnist", "images", images, "labels", labels, 10);
  const DatasetInfo& info = ds->info();
  if (ds->size() <= 0 || info.height <= 0 || info.width <= 0 || info.channels != 1)
    throw InvariantViolation("idx: accepted a dataset without items or pixels");
  std::vector<uint8_t> px(size_t(ds->item_bytes()));
  for (int64_t i = 0; i < ds->size(); ++i) {
    ds->read_pixels(i, px.data());
    if (ds->label(i) < 0 || ds->label(i) >= info.num_classes)
      throw InvariantViolation("idx: label out of range");
  }
  ds->fingerprint();
}

}  // namespace sr::fuzz

#ifdef SR_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sr::fuzz::run_guarded(sr::fuzz::idx_input, data, size);
}
#endif
