#!/usr/bin/env bash
# Builds the libFuzzer targets of the binary parsers (fuzz/, clang with
# -fsanitize=fuzzer,address,undefined) in build-fuzz/ (or $FUZZ_BUILD_DIR) and runs each for the
# given number of seconds (default 600), then prints the executions each reached. New inputs go
# to <build>/corpus/<target> (the committed seeds in fuzz/corpus/<target> are only read); a
# crashing input is saved as <build>/artifacts/<target>/crash-* (an input slower than 30 s as
# slow-unit-*) and makes the script fail.
#   scripts/fuzz.sh [seconds]        build, then run every target in turn
#   scripts/fuzz.sh --make-corpus    rewrite the seed corpora in fuzz/corpus
# Environment: FUZZ_TARGETS="idx cifar" (a subset), FUZZ_PARALLEL=2 (targets run at once),
# JOBS (build jobs, default nproc). Needs clang and libclang-rt-14-dev: scripts/setup.sh --with-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
seconds=600
make_corpus=0
for arg in "$@"; do
  case "$arg" in
    --make-corpus) make_corpus=1 ;;
    ''|*[!0-9]*) echo "fuzz.sh: expected a number of seconds or --make-corpus, got '$arg'" >&2; exit 2 ;;
    *) seconds="$arg" ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh --with-fuzz)" >&2; exit 1; }

CC=clang CXX=clang++ cmake -S fuzz -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"
if [ "$make_corpus" = 1 ]; then
  "$build/make_corpus" fuzz/corpus
  exit 0
fi

targets=(${FUZZ_TARGETS:-idx cifar image label_map})
declare -A max_len=([idx]=4096 [cifar]=16384 [image]=16384 [label_map]=8192)
export OMP_NUM_THREADS=1
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

run_one() {
  local t="$1"
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -max_len="${max_len[$t]}" \
    -report_slow_units=30 \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "fuzz/corpus/$t" \
    >"$build/fuzz_$t.log" 2>&1 || true
}

echo "fuzz: ${targets[*]}, ${seconds} s each, ${FUZZ_PARALLEL:-1} at a time; logs in $build/fuzz_<target>.log"
running=0
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "${FUZZ_PARALLEL:-1}" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-10s %14s %10s %10s %8s\n' target executions exec/s corpus crashes
for t in "${targets[@]}"; do
  log="$build/fuzz_$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: //p' "$log" | tail -1)
  corpus=$(find "$build/corpus/$t" -type f | wc -l)
  crashes=$(find "$build/artifacts/$t" -type f | wc -l)
  printf '%-10s %14s %10s %10s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$crashes"
  if [ "$crashes" -gt 0 ] || ! grep -q '^Done [0-9]* runs' "$log"; then
    failed=1
    echo "  $t: see $log and $build/artifacts/$t/" >&2
  fi
done
exit "$failed"
