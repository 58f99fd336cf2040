// Creating, locking and (after a failed start) removing an output directory (see output_dir.h).
#include "sraal/output_dir.h"

#include "engine/error.h"

namespace sr {

namespace fs = std::filesystem;

OutputDirectory::OutputDirectory(std::string dir, bool must_exist) : dir_(std::move(dir)) {
  const fs::path d(dir_);
  if (must_exist)
    SR_CHECK_IO(fs::is_directory(d), "{}: nothing to resume (no such directory)", dir_);
  for (fs::path p = d; !p.empty() && !fs::exists(fs::symlink_status(p)); p = p.parent_path()) {
    created_.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(d, ec);
  SR_CHECK_IO(!ec && fs::is_directory(d), "{}: cannot create the output directory: {}", dir_,
              ec.message());
  lock_ = std::make_unique<DirectoryLock>(dir_);
}

std::string OutputDirectory::path(const std::string& name) const {
  return (fs::path(dir_) / name).string();
}

void OutputDirectory::discard_if_created() {
  if (created_.empty()) return;
  lock_.reset();
  std::error_code ec;
  fs::remove(fs::path(dir_) / ".lock", ec);
  for (const fs::path& p : created_)
    if (!fs::remove(p, ec)) break;  // not empty (or not removable): keep it and its parents
  created_.clear();
}

void OutputDirectory::start_with(const std::function<void()>& start) {
  try {
    start();
  } catch (...) {
    discard_if_created();  // a failed start leaves no empty directory behind
    throw;
  }
}

bool OutputDirectory::has_file(const std::string& name) const {
  const fs::path file = fs::path(dir_) / name;
  const fs::file_status st = fs::symlink_status(file);
  if (!fs::exists(st)) return false;
  SR_CHECK_IO(fs::is_regular_file(st), "{}: not a regular file; refusing to read it",
              file.string());
  return true;
}

void OutputDirectory::remove(const std::vector<std::string>& files,
                             const std::vector<std::string>& folders) {
  const fs::path dir(dir_);
  for (const std::string& f : files) fs::remove(dir / f);
  for (const std::string& sub : folders) {
    const fs::path p = dir / sub;
    if (fs::is_symlink(fs::symlink_status(p))) fs::remove(p);
    fs::remove_all(p);
  }
}

}  // namespace sr
