#!/usr/bin/env bash
# Configures and builds sraal (Release) into build/ (or $BUILD_DIR). Extra arguments go to cmake,
# e.g. scripts/build.sh -DSRAAL_CUDA_ARCHITECTURES=80
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" -j "$(nproc)"
