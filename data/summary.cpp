// One scan per split: counts and fingerprint together, so each item is decoded once.
#include "data/summary.h"

#include "engine/error.h"

namespace sr {

SplitSummary summarize(const Dataset& ds) {
  const DatasetInfo& info = ds.info();
  SplitSummary s;
  s.items = ds.size();
  s.class_counts.assign(size_t(info.num_classes), 0);
  s.mean = ds.mean();
  s.std = ds.std();
  FingerprintHasher h;
  size_t px = size_t(ds.item_bytes()), plane = size_t(info.height * info.width);
  for_each_item(ds, [&](int64_t i, const uint8_t* pixels, const uint8_t* map, int64_t label) {
    h.add(pixels, px, map, plane, label);
    if (map) {
      for (size_t k = 0; k < plane; ++k) {
        if (map[k] == info.ignore_index) {
          ++s.ignored_pixels;
          continue;
        }
        SR_CHECK_IO(map[k] < info.num_classes, "{}: item {} has class id {} outside [0, {})",
                    info.name, i, map[k], info.num_classes);
        ++s.class_counts[map[k]];
      }
    } else {
      SR_CHECK_IO(label >= 0 && label < info.num_classes,
                  "{}: item {} has label {} outside [0, {})", info.name, i, label,
                  info.num_classes);
      ++s.class_counts[size_t(label)];
    }
  });
  s.fingerprint = h.hex();
  return s;
}

}  // namespace sr
