// Files written atomically: bytes go to `path.tmp`, which commit() flushes to disk (fsync) and
// renames over `path`, so a reader (or a resumed run after a crash) sees the old file or the new
// one, never a torn one. Destroyed without commit (an error on the way), the temporary file is
// removed.
#pragma once

#include <cstdio>
#include <string>

namespace sr {

class AtomicWriter {
 public:
  explicit AtomicWriter(std::string path);
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  ~AtomicWriter();

  void write(const void* p, size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

void write_file_atomic(const std::string& path, const std::string& content);

// Fault injection for crash tests: with a limit N > 0 set, the N-th call of fault_point() kills
// the process with SIGKILL (no cleanup, no flush), as a power cut would. Points sit at every
// training step and between writing a file's temporary copy and renaming it.
void set_fault_point_limit(int64_t n);
void fault_point();

}  // namespace sr
