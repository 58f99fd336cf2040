// The kernel slots (engine/kernel_slots.def) against what registered itself: every slot has
// exactly one CPU kernel in every build and exactly one CUDA kernel in a CUDA build, so that
// static registration cannot silently lose a kernel (a dropped object file, a forgotten slot)
// or let two files claim one. A slot registered twice refuses every call.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "engine/kernels.h"

namespace sr {
namespace {

TEST(KernelSlots, EverySlotHasOneKernelPerDeviceOfTheBuild) {
  const std::vector<kernels::SlotStatus> slots = kernels::kernel_slots();
  EXPECT_GE(slots.size(), 37u);  // the op and selection slots of the .def list
  std::set<std::string> names;
  for (const kernels::SlotStatus& s : slots) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name << " listed twice";
    EXPECT_TRUE(s.cpu) << s.name << " has no CPU kernel";
    EXPECT_FALSE(s.cpu_duplicated) << s.name << " has two CPU kernels";
#ifdef SRAAL_WITH_CUDA
    EXPECT_TRUE(s.cuda) << s.name << " has no CUDA kernel";
    EXPECT_FALSE(s.cuda_duplicated) << s.name << " has two CUDA kernels";
#else
    EXPECT_FALSE(s.cuda) << s.name << ": a CUDA kernel in a build without CUDA";
#endif
  }
}

void first(int* x) {
  *x = 1;
}
void second(int* x) {
  *x = 2;
}

TEST(KernelSlots, ASlotRegisteredTwiceRefusesEveryCall) {
  KernelSlot<void(int*)> slot("probe");
  int x = 0;
  EXPECT_THROW(slot(Device::cpu, &x), NotImplementedError);  // empty
  slot.set(Device::cpu, first);
  slot(Device::cpu, &x);
  EXPECT_EQ(x, 1);
  EXPECT_FALSE(slot.duplicated(Device::cpu));
  slot.set(Device::cpu, second);
  EXPECT_TRUE(slot.duplicated(Device::cpu));
  try {
    slot(Device::cpu, &x);
    ADD_FAILURE() << "a doubly registered slot ran";
  } catch (const NotImplementedError& e) {
    EXPECT_NE(std::string(e.what()).find("'probe' has two kernels registered for device cpu"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(x, 1);
  EXPECT_FALSE(slot.duplicated(Device::cuda));
}

// layers/, sraal/ and data/ use the engine through its public headers only: no kernel file of
// a backend (engine/cpu/, cuda/) is theirs to include.
TEST(KernelSlots, LayersSraalAndDataSeeNoBackendInternals) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(SR_FIXTURE_DIR).parent_path().parent_path();
  int files = 0;
  for (const char* dir : {"layers", "sraal", "data"})
    for (const auto& e : fs::directory_iterator(root / dir)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".cpp" && ext != ".h") continue;
      ++files;
      std::ifstream in(e.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        if (line.rfind("#include", 0) != 0) continue;
        EXPECT_TRUE(line.find("\"engine/cpu/") == std::string::npos &&
                    line.find("\"cuda/") == std::string::npos)
            << e.path().string() << ":" << n << ": " << line;
      }
    }
  EXPECT_GT(files, 50);
}

}  // namespace
}  // namespace sr
