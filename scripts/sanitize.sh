#!/usr/bin/env bash
# Builds sraal with AddressSanitizer and UndefinedBehaviorSanitizer (SRAAL_SANITIZE=ON, CUDA off,
# RelWithDebInfo, no benchmarks) in build-sanitize/ (or $SANITIZE_BUILD_DIR) and runs the whole
# test suite through ctest, including the numerical suites once per oneDNN ISA (OneDnnIsa.*); any
# sanitizer report fails its test. Extra arguments go to ctest (e.g. -R Batch). JOBS sets the
# build jobs (default nproc). Slow: the instrumented engine runs several times slower than the
# Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${SANITIZE_BUILD_DIR:-build-sanitize}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSRAAL_SANITIZE=ON -DSRAAL_CUDA=OFF \
  -DSRAAL_BUILD_BENCH=OFF -DSRAAL_TEST_TIMEOUT=1800 >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --test-dir "$build" --output-on-failure "$@"
