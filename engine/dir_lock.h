// An exclusive lock on a directory for a process's lifetime (flock on `<dir>/.lock`, which holds
// the owner's pid): a second process that tries to lock the same directory fails at once with an
// error naming the directory and the pid that holds it. The lock ends with the object or with the
// process, however it dies (the kernel releases flock locks), so a killed run never leaves a
// stale lock.
#pragma once

#include <string>

namespace sr {

class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir);
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  int fd_ = -1;
};

}  // namespace sr
