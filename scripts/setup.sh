#!/usr/bin/env bash
# Installs every Debian package sraal needs to build, test and run (idempotent: packages that
# are already installed are skipped; nothing is fetched when all are present).
#   scripts/setup.sh              build + test + run dependencies (incl. Fashion-MNIST)
#   scripts/setup.sh --with-torch also PyTorch and jemalloc (fixture generation, bench/compare_torch.py)
#   scripts/setup.sh --with-fuzz  also clang's fuzzing runtime (scripts/fuzz.sh)
set -euo pipefail

# ocl-icd-opencl-dev is only a Recommends of libdnnl-dev, which --no-install-recommends skips, but
# Debian's oneDNN is built with its OpenCL runtime and its dnnl-config.cmake requires OpenCL.
packages=(
  build-essential cmake pkg-config
  libdnnl-dev ocl-icd-opencl-dev libopenblas-openmp-dev zlib1g-dev libstb-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist
)
for arg in "$@"; do
  case "$arg" in
    --with-torch) packages+=(python3-torch python3-numpy libjemalloc2) ;;
    --with-fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "setup.sh: unknown option '$arg' (expected --with-torch or --with-fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
