"""What the PyTorch comparison scripts (compare_torch.py, compare_torch_kernels.py) share: the
timing loop of their torch workers, and starting a worker in a fresh process under a chosen
OpenMP wait policy and allocator (the environment must be set before torch starts)."""
import json
import os
import subprocess
import sys
import time

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"


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


def run_worker(script, args, passive, jemalloc):
    """Runs `script` with `args` in a fresh Python, OMP_WAIT_POLICY=passive or unset, jemalloc
    preloaded or not; returns the JSON object on the last line of its output."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("LD_PRELOAD", None)
    if passive:
        env["OMP_WAIT_POLICY"] = "passive"
    if jemalloc:
        env["LD_PRELOAD"] = JEMALLOC
    out = subprocess.run([sys.executable, script] + args, env=env, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
