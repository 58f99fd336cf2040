// Atomic file writes and the fault-injection points (see atomic_file.h).
#include "engine/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace sr {

namespace {
std::atomic<int64_t> g_fault_limit{0};
std::atomic<int64_t> g_fault_count{0};

// Makes the rename itself durable.
void sync_directory(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  FILE* d = std::fopen(parent.empty() ? "." : parent.c_str(), "r");
  if (!d) return;
  fsync(fileno(d));
  std::fclose(d);
}
}  // namespace

void set_fault_point_limit(int64_t n) {
  g_fault_limit = n;
  g_fault_count = 0;
}

void fault_point() {
  int64_t limit = g_fault_limit.load(std::memory_order_relaxed);
  if (limit > 0 && ++g_fault_count == limit) std::raise(SIGKILL);
}

AtomicWriter::AtomicWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  // The temporary is created afresh, never opened through whatever is there: a stale one (a
  // crash) or a symlink planted in its place is unlinked (the link itself, not its target), and
  // O_EXCL | O_NOFOLLOW refuse anything that appears in between. rename() then replaces `path`
  // itself, a symlink included, so no write ever lands outside the directory.
  if (::unlink(tmp_.c_str()) != 0 && errno != ENOENT)
    throw IOError(fmt::format("{}: cannot remove the stale temporary {}: {}", path_, tmp_,
                              std::strerror(errno)));
  int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  SR_CHECK_IO(fd >= 0, "{}: cannot open for writing: {}", path_, std::strerror(errno));
  f_ = ::fdopen(fd, "wb");
  if (!f_) {
    ::close(fd);
    throw IOError(fmt::format("{}: cannot open for writing: {}", path_, std::strerror(errno)));
  }
}

AtomicWriter::~AtomicWriter() {
  if (!f_) return;
  std::fclose(f_);
  std::remove(tmp_.c_str());
}

void AtomicWriter::write(const void* p, size_t n) {
  SR_CHECK_IO(std::fwrite(p, 1, n, f_) == n, "{}: write failed: {}", path_, std::strerror(errno));
}

void AtomicWriter::commit() {
  bool ok = std::fflush(f_) == 0 && fsync(fileno(f_)) == 0;
  ok = std::fclose(f_) == 0 && ok;
  f_ = nullptr;
  fault_point();
  ok = ok && std::rename(tmp_.c_str(), path_.c_str()) == 0;
  if (ok) {
    sync_directory(path_);
    return;
  }
  std::string why = std::strerror(errno);
  std::remove(tmp_.c_str());
  throw IOError(fmt::format("{}: cannot write: {}", path_, why));
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicWriter w(path);
  w.write(content);
  w.commit();
}

}  // namespace sr
