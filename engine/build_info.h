// What this binary was built from, for the records runs keep (manifest.json): the source
// commit, and the versions of the libraries its kernels come from.
#pragma once

#include <map>
#include <string>

namespace sr {

// The source tree's commit at build time ("<sha>-dirty" with uncommitted changes to tracked
// files, "unknown" outside a git checkout).
std::string git_commit();
// {"oneDNN": "2.6.3 (cpu runtime: OpenMP)", "BLAS": ..., and with CUDA compiled in "CUDA
// runtime", "cuDNN", "cuBLAS"}.
std::map<std::string, std::string> library_versions();

}  // namespace sr
