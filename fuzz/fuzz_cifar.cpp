// Fuzz target: CIFAR-10 and CIFAR-100 (fine and coarse) binary records held in memory, then
// every item read back.
#include <span>
#include <vector>

#include "data/cifar.h"
#include "fuzz/fuzz_targets.h"

namespace sr::fuzz {

void cifar_input(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const CifarFormat formats[] = {CifarFormat::cifar10, CifarFormat::cifar100_fine,
                                 CifarFormat::cifar100_coarse};
  auto ds = parse_cifar_records("records.bin", std::span<const uint8_t>(data + 1, size - 1),
                                formats[data[0] % 3]);
  const DatasetInfo& info = ds->info();
  if (ds->size() <= 0 || ds->item_bytes() != 3 * 32 * 32)
    throw InvariantViolation("cifar: accepted a dataset without items or of the wrong shape");
  std::vector<uint8_t> px(size_t(ds->item_bytes()));
  for (int64_t i = 0; i < ds->size(); ++i) {
    ds->read_pixels(i, px.data());
    if (ds->label(i) < 0 || ds->label(i) >= info.num_classes)
      throw InvariantViolation("cifar: label out of range");
  }
}

}  // namespace sr::fuzz

#ifdef SR_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sr::fuzz::run_guarded(sr::fuzz::cifar_input, data, size);
}
#endif
