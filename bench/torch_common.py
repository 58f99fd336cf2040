"""What the PyTorch comparison scripts (compare_torch.py, compare_torch_kernels.py) share: the
timing loop of their torch workers, starting a worker in a fresh process under a chosen OpenMP
wait policy, allocator and instruction-set cap (the environment must be set before torch
starts), and the competing busy processes of the contention benchmark."""
import json
import os
import subprocess
import sys
import time

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"

# --isa: the same cap on both sides. oneDNN (ours, and the copy inside torch) reads
# ONEDNN_MAX_CPU_ISA (DNNL_ in older releases); ATen's own vector kernels ATEN_CPU_CAPABILITY.
# Our own kernels' ISA is fixed when sraal is built: for avx2 on an AVX-512 machine, pass a
# binary built with -DSRAAL_MARCH=x86-64-v3.
ISA_ENV = {
    "native": {},
    # OpenBLAS (sraal's sgemm and Debian torch's) keeps its AVX-512 kernels unless told the
    # core is a Haswell: without it an "AVX2" GEMM runs at a speed no Zen 2 has.
    "avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2",
             "ATEN_CPU_CAPABILITY": "avx2", "OPENBLAS_CORETYPE": "Haswell"},
    "avx512": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "DNNL_MAX_CPU_ISA": "AVX512_CORE",
               "ATEN_CPU_CAPABILITY": "avx512"},
}


def add_common_arguments(ap):
    ap.add_argument("--isa", choices=sorted(ISA_ENV), default="native",
                    help="cap both sides at this instruction set (default: what the CPU has)")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="N single-threaded busy processes run beside both sides throughout "
                         "(the contention benchmark)")


def isa_environment(isa):
    """The process environment with the --isa cap applied (for sraal and the torch workers)."""
    env = dict(os.environ)
    for k in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY",
              "OPENBLAS_CORETYPE"):
        env.pop(k, None)
    env.update(ISA_ENV[isa])
    return env


def check_sraal_isa(sraal, isa):
    """Stops when --isa avx2 would time an sraal whose own kernels use AVX-512."""
    info = subprocess.run([sraal, "info"], capture_output=True, text=True, check=True).stdout
    line = next((l for l in info.splitlines() if l.startswith("our kernels:")), "")
    print(f"sraal {line.strip()}; oneDNN and ATen capped at: {isa}", flush=True)
    if isa == "avx2" and "AVX-512" in line:
        sys.exit(f"--isa avx2: {sraal} was built with AVX-512 kernels; build one with "
                 "-DSRAAL_MARCH=x86-64-v3 and pass it with --sraal")


class BusyNeighbours:
    """`n` busy-looping processes for the duration of a `with` block."""

    def __init__(self, n):
        self.n, self.procs = n, []

    def __enter__(self):
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        if self.n:
            print(f"{self.n} busy neighbour process(es) running", flush=True)
            time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def time_ms(f, warmup, repeats):
    """Runs f() `warmup` times untimed, then `repeats` times; the times in ms, sorted."""
    for _ in range(warmup):
        f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times


def run_worker(script, args, passive, jemalloc, isa="native"):
    """Runs `script` with `args` in a fresh Python, OMP_WAIT_POLICY=passive or unset, jemalloc
    preloaded or not, under the --isa cap; returns the JSON object on the last line of its
    output."""
    env = isa_environment(isa)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("LD_PRELOAD", None)
    if passive:
        env["OMP_WAIT_POLICY"] = "passive"
    if jemalloc:
        env["LD_PRELOAD"] = JEMALLOC
    out = subprocess.run([sys.executable, script] + args, env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
