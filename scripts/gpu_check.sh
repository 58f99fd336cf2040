#!/usr/bin/env bash
# The GPU check, in one command on a machine with an NVIDIA GPU, CUDA (nvcc), CMake, ninja and
# PyTorch but none of our Debian packages and no network (docs/CUDA.md, DEVELOPERS.md):
#
#   1. unpacks the packages of scripts/gpu_bundle.sh (run beforehand where apt works) into a
#      private prefix, build-gpu/deps (never over /), and points their CMake files at it;
#   2. configures with -DSRAAL_CUDA_ARCHITECTURES=90 and builds on all cores;
#   3. runs every CUDA test (OpsDevice.*, SelectionCuda.*, Devices.*, KernelSlots.*);
#   4. a tiny `sraal run --device cuda` against the CPU run of the same seed: the same rows, every
#      metric within 0.05 (float summation order and cuDNN's algorithms differ, so trajectories
#      drift by a few predictions on a 600-item pool; a broken kernel is off by far more);
#   5. `sraal bench --device cuda` (training steps, TF32 off and on) and the CUDA selection-kernel
#      studies (bench/kernels/*_cuda);
#   6. bench/compare_torch.py --device cuda against the PyTorch there;
#
# each stage under its own time limit, about 8 minutes in all; report.md and every stage's log
# go into REPORT_DIR (default: gpu-report/).
#
#   scripts/gpu_check.sh [REPORT_DIR] [--bundle DIR] [--cpu-only]
#
# --cpu-only: for testing the bundle where there is no GPU: builds without CUDA against the
# prefix and runs the whole CPU test suite instead of stages 3-6.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
report=gpu-report bundle=gpu-bundle cpu_only=0
while (($#)); do
  case $1 in
    --bundle) bundle=$2; shift ;;
    --cpu-only) cpu_only=1 ;;
    -*) echo "gpu_check: unknown option $1" >&2; exit 2 ;;
    *) report=$1 ;;
  esac
  shift
done
mkdir -p "$report"
report=$(cd "$report" && pwd)
build=$root/build-gpu
prefix=$build/deps
md=$report/report.md
failed=0
start=$(date +%s)

note() { echo "$*" | tee -a "$md"; }
# stage NAME LIMIT_S COMMAND...: runs COMMAND with its output in NAME.log, records the result
# (LIMIT_S 0: no limit, for this script's own functions, which `timeout` cannot run).
stage() {
  local name=$1 limit=$2
  shift 2
  local t0=$(date +%s)
  if ((limit > 0)); then
    timeout "$limit" "$@" >"$report/$name.log" 2>&1
  else
    "$@" >"$report/$name.log" 2>&1
  fi
  local rc=$? took=$(($(date +%s) - t0))
  local what="passed"
  ((rc == 124)) && what="TIMED OUT after ${limit} s"
  ((rc != 0 && rc != 124)) && what="FAILED (exit $rc)"
  ((rc != 0)) && failed=1
  note "- **$name**: $what in ${took} s (\`$name.log\`)"
  return $rc
}

: >"$md"
note "# GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note ""
note "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if command -v nvidia-smi >/dev/null; then
  note "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n 1)"
fi
note "- nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none)"
note "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
note ""

# 1. The packages, unpacked into the prefix. dpkg-deb where it exists; otherwise the .deb's ar
# members are read by Python (a .deb is an ar archive holding data.tar.*).
unpack() {
  rm -rf "$prefix" && mkdir -p "$prefix"
  local debs=("$bundle"/*.deb)
  [[ -e ${debs[0]} ]] || { echo "no .deb files in $bundle (run scripts/gpu_bundle.sh first)"; return 1; }
  for d in "${debs[@]}"; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$d" "$prefix" || return 1
    else
      python3 - "$d" "$prefix" <<'EOF' || return 1
import io, sys, tarfile
deb, dest = sys.argv[1], sys.argv[2]
data = open(deb, "rb").read()
assert data[:8] == b"!<arch>\n", deb + ": not a .deb"
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        # Python 3.14's default filter refuses the absolute links packages hold: keep them.
        kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
        tarfile.open(fileobj=io.BytesIO(body)).extractall(dest, **kw)
    pos += 60 + size + (size & 1)
EOF
    fi
  done
  # The packages' CMake and pkg-config files name /usr/...: point them at the prefix.
  find "$prefix" \( -name '*.cmake' -o -name '*.pc' \) -type f -print0 |
    xargs -0 sed -i -E "s#(^|[^A-Za-z0-9_./-])/usr/(lib|include|share)#\1$prefix/usr/\2#g"
  echo "unpacked $(ls "$bundle"/*.deb | wc -l) packages into $prefix"
}
stage unpack 0 unpack || { note ""; note "stopped: the bundle did not unpack"; exit 1; }

arch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libs=$prefix/usr/lib/$arch
export LD_LIBRARY_PATH=$libs:$libs/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# 2. Configure and build. cuDNN: the toolkit's, else PyTorch's pip package (nvidia-cudnn).
cmake_args=(-S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSRAAL_DEPS_PREFIX="$prefix")
if ((cpu_only)); then
  cmake_args+=(-DSRAAL_CUDA=OFF)
else
  cmake_args+=(-DSRAAL_CUDA_ARCHITECTURES=90)
  cuda_inc=$(dirname "$(dirname "$(command -v nvcc)")")/include
  if [[ ! -e $cuda_inc/cudnn.h ]]; then
    cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null ||
      python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null)
    if [[ -n $cudnn ]]; then
      cmake_args+=(-DSRAAL_CUDNN_ROOT="$cudnn")
      export LD_LIBRARY_PATH=$cudnn/lib:$LD_LIBRARY_PATH
    fi
  fi
fi
stage configure 120 cmake "${cmake_args[@]}" || { note ""; note "stopped: configure failed"; exit 1; }
stage build 420 cmake --build "$build" -j "$(nproc)" || { note ""; note "stopped: build failed"; exit 1; }
# What the build found: every dependency from the prefix, none from the system.
note ""
note "Dependencies found (CMakeCache.txt):"
grep -E '^(dnnl|OpenBLAS|fmt|nlohmann_json|CLI11|GTest|benchmark)_DIR|^SR_STB_INCLUDE_DIR|^SR_CUDNN_LIB' \
  "$build/CMakeCache.txt" | sed 's/^/    /' | tee -a "$md"
note ""

if ((cpu_only)); then
  stage cpu-tests 1500 ctest --test-dir "$build" --output-on-failure
  grep -E "tests passed|tests failed" "$report/cpu-tests.log" | tee -a "$md"
else
  # 3. Every CUDA test.
  stage cuda-tests 240 "$build/tests/sraal_tests" \
    --gtest_filter='OpsDevice.*:SelectionCuda.*:Devices.*:KernelSlots.*'
  grep -E "^\[  (PASSED|FAILED) |^\[  FAILED  \]" "$report/cuda-tests.log" | tee -a "$md"

  # 4. The same tiny run on both devices.
  tiny=(run --dataset synthetic --methods sraal,random --epochs 2 --width 0.25 --iterations 20
    --pool-size 600 --fractions 0.1,0.1,0.3 --seed 3 --force)
  stage run-cpu 120 "$build/sraal" --threads "$(nproc)" "${tiny[@]}" --device cpu --out "$report/run-cpu"
  stage run-cuda 120 "$build/sraal" "${tiny[@]}" --device cuda --out "$report/run-cuda"
  stage run-compare 30 python3 - "$report/run-cpu/results.csv" "$report/run-cuda/results.csv" <<'EOF'
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(a) == len(b) > 0, f"{len(a)} CPU rows, {len(b)} CUDA rows"
worst = 0.0
for x, y in zip(a, b):
    assert (x["method"], x["trial"], x["cycle"]) == (y["method"], y["trial"], y["cycle"])
    d = abs(float(x["value"]) - float(y["value"]))
    worst = max(worst, d)
    print(f'{x["method"]:8s} cycle {x["cycle"]}: cpu {float(x["value"]):.4f} '
          f'cuda {float(y["value"]):.4f} (|diff| {d:.4f}); train s {x["train_seconds"]} / '
          f'{y["train_seconds"]}, select s {x["select_seconds"]} / {y["select_seconds"]}')
print(f"largest |diff| {worst:.4f} (tolerance 0.05)")
sys.exit(0 if worst <= 0.05 else 1)
EOF
  sed 's/^/    /' "$report/run-compare.log" >>"$md"

  # 5. Training steps and the selection kernels on the GPU.
  for tf in off on; do
    flags=(--cudnn-benchmark)
    [[ $tf == on ]] && flags+=(--tf32)
    stage "bench-steps-tf32-$tf" 150 "$build/sraal" "${flags[@]}" bench --device cuda --repeats 10
    sed 's/^/    /' "$report/bench-steps-tf32-$tf.log" >>"$md"
  done
  for k in "$build"/bench/bench_kernel_*_cuda; do
    [[ -x $k ]] || continue
    stage "$(basename "$k")" 90 "$k"
    tail -n 12 "$report/$(basename "$k").log" | sed 's/^/    /' >>"$md"
  done

  # 6. Against PyTorch on the same GPU.
  stage compare-torch 200 python3 bench/compare_torch.py --device cuda --sraal "$build/sraal" \
    --steps resnet18,resnet18-w4,vae --repeats 10 --rounds 1
  grep -A12 "^step " "$report/compare-torch.log" | sed 's/^/    /' >>"$md"
fi

note ""
note "total $(($(date +%s) - start)) s; $( ((failed)) && echo "SOME STAGES FAILED" || echo "every stage passed")"
exit $failed
