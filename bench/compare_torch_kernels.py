#!/usr/bin/python3
"""Times the selection kernels' scale rows of `sraal bench --kernels` in PyTorch on this machine,
then runs `sraal bench --kernels --json` in the same run and prints a ratio table.

Rows (the same shapes as sraal's; inputs are random, drawn by torch):
  indicator  1,000,000 x 10 / x 100 probabilities or logits: softmax (logits), max, population
             variance, MINVar, score, as the authors' code computes it
  pairwise   10,000 x 10,000 x 512: torch.cdist (Euclidean) and the matmul identity
             (|a|^2 + |b|^2 - 2 a b^T, clamped; squared, as sraal's); the faster is kept
  kcenter    1,000 of 50,000 x 512 and of 1,000,000 x 64: the incremental greedy k-center (one
             running minimum per point) with the distance to the new center computed as
             ((X - c)^2).sum(1), by torch.cdist, or by the matmul identity; the fastest variant on
             the first 20 picks runs all 1,000
  topk       torch.topk, 1,000 of 1,000,000

Every row runs in a fresh process per configuration (the environment must be set before torch
starts): torch's default threads ("as installed") or 2 threads, OMP_WAIT_POLICY unset or
passive, with and without jemalloc preloaded. Then sraal runs the row. A second round repeats
torch's fastest configuration and sraal's row, so that a burst of other work on the machine
does not decide the ratio; each side keeps its best median. Memory: growth of the peak resident
set (VmHWM, reset through /proc/self/clear_refs after the inputs are built) over the row's
runs, as sraal's rss_extra_mib.

    /usr/bin/python3 bench/compare_torch_kernels.py --sraal build/sraal [--rows id,...] [--rounds 2]
        [--isa avx2|avx512] [--load 1]

Needs Debian's python3-torch and libjemalloc2 (scripts/setup.sh --with-torch).
"""
import argparse
import itertools
import json
import os
import subprocess
import time

from torch_common import (JEMALLOC, BusyNeighbours, add_common_arguments, check_sraal_isa,
                          isa_environment, run_worker, time_ms)

ROWS = ["indicator/probs/1000000x10", "indicator/logits/1000000x10",
        "indicator/probs/1000000x100", "indicator/logits/1000000x100",
        "pairwise/10000x10000x512", "kcenter/50000x512/k1000", "kcenter/1000000x64/k1000",
        "topk/1000000/k1000"]


# --------------------------------------------------------------------------- memory
def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024
    return -1.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- the torch rows
def build_row(row_id):
    """Returns (variants, warmup, repeats): variants maps a name to a function running the row."""
    import torch
    torch.manual_seed(0)
    kind = row_id.split("/")[0]
    if kind == "indicator":
        _, inp, shape = row_id.split("/")
        n, c = map(int, shape.split("x"))
        x = torch.randn(n, c) * 3
        logits = inp == "logits"
        if not logits:
            x = torch.softmax(x, 1)

        def indicator():
            v = torch.softmax(x, 1) if logits else x
            m = v.max(1).values
            var = v.var(1, unbiased=False)
            minvar = ((1 / c - m) ** 2 + (c - 1) * (1 / c - (1 - m) / (c - 1)) ** 2) / c
            return (1 - minvar / var * m).clamp_(0, 1)
        return {"max/var/MINVar": indicator}, 2, 5
    if kind == "pairwise":
        m, n, d = map(int, row_id.split("/")[1].split("x"))
        a, b = torch.randn(m, d), torch.randn(n, d)

        def cdist():
            return torch.cdist(a, b)

        def identity():
            out = torch.addmm((a * a).sum(1, keepdim=True), a, b.t(), beta=1, alpha=-2)
            return out.add_((b * b).sum(1)).clamp_(min=0)
        return {"cdist": cdist, "matmul identity": identity}, 1, 3
    if kind == "kcenter":
        shape, k = row_id.split("/")[1:]
        n, d = map(int, shape.split("x"))
        k = int(k[1:])
        X = torch.randn(n, d)
        first = int(torch.randint(n, (1,)))

        def greedy(dist_fn, picks):
            mind = torch.full((n,), float("inf"))
            s, chosen = first, [first]
            for _ in range(picks - 1):
                torch.minimum(mind, dist_fn(s), out=mind)
                mind[s] = -1
                s = int(torch.argmax(mind))
                mind[s] = -1
                chosen.append(s)
            return chosen
        x2 = (X * X).sum(1)

        def diff(s):
            return ((X - X[s]) ** 2).sum(1)

        def cdist(s):
            return torch.cdist(X, X[s:s + 1]).squeeze(1)

        def mm(s):
            return x2 - 2 * torch.mv(X, X[s]) + x2[s]
        fns = {"(X - c)^2 sum": diff, "cdist": cdist, "matmul identity": mm}
        return {name: (lambda f=f, p=k: greedy(f, p)) for name, f in fns.items()}, 0, 1, \
            {name: (lambda f=f: greedy(f, 20)) for name, f in fns.items()}
    if kind == "topk":
        n, k = row_id.split("/")[1:]
        n, k = int(n), int(k[1:])
        s = torch.rand(n)
        return {"torch.topk": lambda: torch.topk(s, k)}, 2, 5
    raise ValueError(row_id)


def worker(row_id, threads):
    import torch
    if threads:
        torch.set_num_threads(threads)
    built = build_row(row_id)
    variants, warmup, repeats = built[:3]
    probes = built[3] if len(built) > 3 else None
    if probes:  # pick the fastest variant on a short run (also the warm-up)
        best, best_t = None, None
        for name, f in probes.items():
            t0 = time.perf_counter()
            f()
            t = time.perf_counter() - t0
            if best_t is None or t < best_t:
                best, best_t = name, t
        variants = {best: variants[best]}
    rss_ok = reset_peak_rss()
    rss0 = status_mib("VmRSS")
    result = None
    for name, f in variants.items():
        times = time_ms(f, warmup, repeats)
        r = {"variant": name, "median_ms": times[len(times) // 2], "min_ms": times[0],
             "threads": torch.get_num_threads()}
        if result is None or r["median_ms"] < result["median_ms"]:
            result = r
    result["rss_extra_mib"] = status_mib("VmHWM") - rss0 if rss_ok else -1
    print(json.dumps(result))


# --------------------------------------------------------------------------- the driver
CONFIGS = list(itertools.product([0, 2], [False, True], [False, True]))  # threads, passive, jemalloc


def run_torch_config(row_id, threads, passive, jemalloc, isa):
    r = run_worker(__file__, ["--worker", row_id, "--threads", str(threads)], passive, jemalloc,
                   isa)
    config = "{} thread{}{}{}".format(r["threads"], "s" if r["threads"] > 1 else "",
                                      " (as installed)" if threads == 0 else "",
                                      ", passive" if passive else "")
    config += ", jemalloc" if jemalloc else ""
    print(f"  torch {row_id:30s} {config:44s} {r['variant']:18s} {r['median_ms']:10.1f} ms",
          flush=True)
    return r, config


def run_sraal(sraal, row_id, repeats, isa):
    out = subprocess.run([sraal, "bench", "--kernels", "--json", "--kernel-rows", row_id,
                          "--repeats", str(repeats)],
                         capture_output=True, text=True, check=True,
                         env=isa_environment(isa)).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(f"  sraal {row_id:30s} {'':44s} {'':18s} {r['median_ms']:10.1f} ms", flush=True)
    return r


def compare_row(sraal, row_id, repeats, rounds, isa):
    best_t, best_cfg, best_s = None, None, None
    for rnd in range(rounds):
        configs = CONFIGS if rnd == 0 else [best_cfg]
        for cfg in configs:
            if cfg[2] and not os.path.exists(JEMALLOC):
                continue
            r, name = run_torch_config(row_id, *cfg, isa)
            if best_t is None or r["median_ms"] < best_t[0]["median_ms"]:
                best_t, best_cfg = (r, name), cfg
        s = run_sraal(sraal, row_id, repeats, isa)
        if best_s is None or s["median_ms"] < best_s["median_ms"]:
            best_s = s
    return best_t, best_s


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sraal", default="build/sraal", help="path of the sraal binary")
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--repeats", type=int, default=5, help="sraal's timed runs")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of (torch, sraal) per row")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    add_common_arguments(ap)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.threads)
        return
    check_sraal_isa(a.sraal, a.isa)
    rows = a.rows.split(",")
    with BusyNeighbours(a.load):
        results = {r: compare_row(a.sraal, r, a.repeats, a.rounds, a.isa) for r in rows}
    print()
    print(f"{'row':30s} {'sraal ms':>10s} {'torch ms':>10s} {'ratio':>6s} {'faster':>7s} "
          f"{'sraal MiB':>9s} {'torch MiB':>9s}  torch variant, config")
    for r in rows:
        (t, config), o = results[r]
        print(f"{r:30s} {o['median_ms']:10.1f} {t['median_ms']:10.1f} "
              f"{o['median_ms'] / t['median_ms']:6.3f} {t['median_ms'] / o['median_ms']:6.2f}x "
              f"{o['rss_extra_mib']:9.1f} {t['rss_extra_mib']:9.1f}  {t['variant']}, {config}")
    print("\nratio = sraal median / best torch median (below 1: sraal is faster); faster = its "
          "inverse. MiB: growth of the peak resident set over the row's runs, inputs excluded. "
          f"ISA cap {a.isa}, {a.load} busy neighbour(s).")


if __name__ == "__main__":
    main()
