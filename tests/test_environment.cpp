// Every test runs on a pinned thread count (all CPUs), as with `--threads N`: tests that compare
// two runs bitwise must not see the adaptive governor (engine/backend.h) change the count while
// ctest runs other tests beside them. The governor's own tests unpin it.
#include "engine/cpu/cpu_backend.h"

namespace {
const bool pinned = (sr::set_num_threads(sr::get_num_cpus()), true);
}  // namespace
