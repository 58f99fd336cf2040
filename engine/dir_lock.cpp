// DirectoryLock (see dir_lock.h).
#include "engine/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.h"

namespace sr {

DirectoryLock::DirectoryLock(const std::string& dir) {
  std::string file = dir + "/.lock";
  // O_NOFOLLOW: a symlink planted as .lock is not followed (nor truncated through).
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  SR_CHECK_IO(fd_ >= 0, "{}: cannot open the lock file: {}", file, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {0};
    ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    SR_CHECK_IO(err != EWOULDBLOCK,
                "{} is in use by another sraal run (pid {}); wait for it or use another --out", dir,
                n > 0 ? std::string(pid, size_t(n)) : "unknown");
    throw IOError(fmt::format("{}: cannot lock: {}", file, std::strerror(err)));
  }
  std::string me = std::to_string(::getpid());
  // Best effort: the lock holds without the pid; only a competing run's message would lack it.
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace sr
