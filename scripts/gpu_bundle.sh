#!/usr/bin/env bash
# Downloads (apt-get download: no install, no root) the Debian packages the build needs into DIR
# (default: gpu-bundle/ in the checkout, ignored by git), for a GPU machine that has CUDA, CMake,
# ninja and PyTorch but none of our packages and no network. scripts/gpu_check.sh unpacks them
# there into a private prefix. About 23 MB.
#
#   scripts/gpu_bundle.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-gpu-bundle}
# The libraries and headers of scripts/setup.sh's list, with the runtime libraries the -dev
# packages depend on (the compilers, CMake and CUDA are the GPU machine's own).
packages=(
  libdnnl-dev libdnnl2 ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-c-headers opencl-clhpp-headers
  libopenblas-openmp-dev libopenblas0-openmp libopenblas-dev libgfortran5
  libstb-dev libstb0 libcli11-dev nlohmann-json3-dev libfmt-dev libfmt9
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian zlib1g-dev
)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir"/*.deb
# (As root, apt warns that it downloads unsandboxed: not an error.)
(
  cd "$dir" && apt-get download -q "${packages[@]}" 2>&1 >/dev/null | grep -v "unsandboxed" >&2
  exit "${PIPESTATUS[0]}"
) || {
  echo "gpu_bundle: apt-get download failed (run 'sudo apt-get update' first?)" >&2
  exit 1
}
n=$(ls "$dir"/*.deb | wc -l)
[[ $n -eq ${#packages[@]} ]] || { echo "gpu_bundle: $n of ${#packages[@]} packages in $dir" >&2; exit 1; }
printf '%s\n' "${packages[@]}" >"$dir/PACKAGES"
echo "gpu_bundle: $n packages, $(du -sh "$dir" | cut -f1) in $dir"
