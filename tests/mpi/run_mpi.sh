#!/usr/bin/env bash
# Runs a command as an MPI job of N processes on this machine, as ctest's multi-process tests do:
#   tests/mpi/run_mpi.sh N command [args...]
# --oversubscribe lets N exceed the cores; Open MPI refuses to run as root unless told it may.
set -euo pipefail
n="$1"
shift
# Under AddressSanitizer (scripts/sanitize.sh), leak checking is off for MPI jobs: Open MPI keeps
# about 120 KB of its own state (libmpi and its dlopened components) past MPI_Finalize, which
# LeakSanitizer reports and no suppression can name (the components are unloaded by then). Every
# other check (use after free, overflows, undefined behaviour) stays on.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
extra=()
if [ "$(id -u)" -eq 0 ]; then extra+=(--allow-run-as-root); fi
exec mpirun "${extra[@]}" --oversubscribe -np "$n" "$@"
