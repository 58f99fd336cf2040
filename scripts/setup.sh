#!/usr/bin/env bash
# Installs every Debian package sraal needs to build, test and run (idempotent: packages that
# are already installed are skipped; nothing is fetched when all are present).
#   scripts/setup.sh              build + test + run dependencies (incl. Fashion-MNIST)
#   scripts/setup.sh --with-torch also PyTorch, torchvision, jemalloc and PyPI's safetensors
#                                 (fixture generation, bench/compare_torch.py)
#   scripts/setup.sh --with-fuzz  also clang's fuzzing runtime (scripts/fuzz.sh)
set -euo pipefail

# ocl-icd-opencl-dev is only a Recommends of libdnnl-dev, which --no-install-recommends skips, but
# Debian's oneDNN is built with its OpenCL runtime and its dnnl-config.cmake requires OpenCL.
packages=(
  build-essential cmake pkg-config
  libdnnl-dev ocl-icd-opencl-dev libopenblas-openmp-dev zlib1g-dev libstb-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
)
with_torch=0
for arg in "$@"; do
  case "$arg" in
    --with-torch) packages+=(python3-torch python3-numpy python3-torchvision python3-pip libjemalloc2)
                  with_torch=1 ;;
    --with-fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "setup.sh: unknown option '$arg' (expected --with-torch or --with-fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Runs a command as root (directly, or through sudo when there is one).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; return; fi
  command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to run: $*" >&2; exit 1; }
  sudo "$@"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# safetensors (the writer PyTorch users save state dicts with; the plain-checkpoint fixtures are
# written by it) is not packaged by Debian: PyPI's wheel, into Debian's Python.
if [ "$with_torch" -eq 1 ] && ! /usr/bin/python3 -c "import safetensors.torch" 2>/dev/null; then
  echo "setup: installing safetensors from PyPI"
  as_root /usr/bin/python3 -m pip install -q --break-system-packages safetensors
fi
