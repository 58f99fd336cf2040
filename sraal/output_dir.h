// The output directory of a `sraal run` or `sraal query`: created when missing (with its
// parents) and locked for the process's lifetime (engine/dir_lock.h: one writer at a time).
// A process that fails before writing anything calls discard_if_created(), which removes the
// directories the constructor created if they hold nothing but the lock, so a failed start
// leaves the file system as it found it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/dir_lock.h"

namespace sr {

class OutputDirectory {
 public:
  // must_exist (--resume): IOError "nothing to resume" when `dir` is missing (most likely a
  // typo). IOError naming `dir` when it cannot be created, or when another process holds it.
  OutputDirectory(std::string dir, bool must_exist);

  const std::string& dir() const { return dir_; }
  // `<dir>/<name>`.
  std::string path(const std::string& name) const;
  void discard_if_created();
  // Runs `start` (everything before the first result file); if it throws, discards the
  // directory as above and rethrows.
  void start_with(const std::function<void()>& start);
  // Whether `<dir>/<name>` exists (a symbolic link counts, not followed); IOError when it is
  // something other than a regular file (a run never reads through a link or a FIFO).
  bool has_file(const std::string& name) const;
  // Removes these files and folders of an earlier run (a symbolic link itself, never what it
  // points to), for a fresh start with --force.
  void remove(const std::vector<std::string>& files, const std::vector<std::string>& folders);

 private:
  std::string dir_;
  std::unique_ptr<DirectoryLock> lock_;
  std::vector<std::filesystem::path> created_;  // the deepest first
};

}  // namespace sr
