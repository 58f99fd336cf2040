// Fuzz target: a Cityscapes labelIds map through what CityscapesDataset does with it: the
// header checks (1 channel, 8-bit), decode, labelId -> trainId mapping, nearest resize.
#include <span>
#include <vector>

#include "data/cityscapes.h"
#include "fuzz/fuzz_targets.h"

namespace sr::fuzz {

void label_map_input(const uint8_t* data, size_t size) {
  if (size < kLabelMapPrefix) return;
  int ow = 1 + data[0] % 64, oh = 1 + data[1] % 64;
  std::span<const uint8_t> file(data + kLabelMapPrefix, size - kLabelMapPrefix);
  check_label_map_header("labelIds.png", read_image_header("labelIds.png", file));
  std::vector<uint8_t> map(size_t(ow) * size_t(oh));
  label_ids_to_train_ids(decode_image("labelIds.png", file, 1), ow, oh, map.data());
  for (uint8_t v : map)
    if (v >= cityscapes_class_names().size() && v != 255)
      throw InvariantViolation("label map: a value that is neither a trainId nor 255");
}

}  // namespace sr::fuzz

#ifdef SR_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sr::fuzz::run_guarded(sr::fuzz::label_map_input, data, size);
}
#endif
