#!/usr/bin/env bash
# Formats every C++ and CUDA source of the project with clang-format (.clang-format at the root).
#   scripts/format.sh          rewrite the files in place
#   scripts/format.sh --check  list the files that differ and fail if any does
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then echo "not formatted: $f"; bad=1; fi
  done
  exit "$bad"
elif [ -n "${1:-}" ]; then
  echo "format.sh: unknown option '$1' (expected --check)" >&2; exit 2
fi
clang-format -i "${files[@]}"
