#!/usr/bin/env bash
# Runs a command as an MPI job of N processes on this machine, as ctest's multi-process tests do:
#   tests/mpi/run_mpi.sh N command [args...]
# --oversubscribe lets N exceed the cores; Open MPI refuses to run as root unless told it may.
set -euo pipefail
n="$1"
shift
extra=()
if [ "$(id -u)" -eq 0 ]; then extra+=(--allow-run-as-root); fi
exec mpirun "${extra[@]}" --oversubscribe -np "$n" "$@"
