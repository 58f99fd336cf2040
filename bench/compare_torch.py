#!/usr/bin/python3
"""Times the training steps of `sraal bench` in PyTorch on this machine, in PyTorch's best
configuration for each step, then runs `sraal bench --json` in the same run and prints ratios.

PyTorch configurations tried for every step (each in a fresh process, since the environment
must be set before torch starts): 2 threads (torch 1.13 defaults to 1 here), NCHW and
channels_last, OMP_WAIT_POLICY unset or passive, with and without jemalloc preloaded. The
fastest median is kept.

    /usr/bin/python3 bench/compare_torch.py --sraal build/sraal [--repeats 5] [--steps ...]
        [--isa avx2|avx512] [--load 1]
    python3 bench/compare_torch.py --device cuda --sraal build/sraal   # on a GPU machine

With --device cuda both sides run on the GPU, each step with TF32 off and on (torch:
allow_tf32 for matmul and cuDNN; sraal: --tf32), NCHW and channels_last for torch, cuDNN's
benchmark mode on both; the timed loop synchronises the device after every step. The ratio is
printed per TF32 setting.

Needs Debian's python3-torch and libjemalloc2 (scripts/setup.sh --with-torch), or on a GPU
machine any PyTorch with CUDA.
"""
import argparse
import itertools
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_common import (JEMALLOC, BusyNeighbours, add_common_arguments, check_sraal_isa,
                          isa_environment, run_worker, time_ms)

STEPS = ["resnet18", "resnet18-w4", "vae", "drn-d22"]


# --------------------------------------------------------------------------- the torch steps
def build_step(name, channels_last, device="cpu"):
    import torch
    import torch.nn.functional as F
    from sraal_torch import DrnSeg, ResNet18, Vae  # the models sraal writes, as torch modules

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    step, batch = make_step(name, fmt, torch, F, DrnSeg, ResNet18, Vae, device)
    if device == "cpu":
        return step, batch

    def synced():
        step()
        torch.cuda.synchronize()
    return synced, batch


def make_step(name, fmt, torch, F, DrnSeg, ResNet18, Vae, device):
    """The step of `name` with its model and data on `device` (cpu or cuda)."""
    dev = torch.device(device)
    torch.manual_seed(0)
    if name.startswith("resnet18"):
        small = name == "resnet18-w4"
        cin, size = (1, 28) if small else (3, 32)
        net = ResNet18("cifar", cin, 10, 0.25 if small else 1.0).to(dev, memory_format=fmt)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        x = torch.randn(128, cin, size, size).to(dev, memory_format=fmt)
        y = torch.randint(0, 10, (128,)).to(dev)

        def step():
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step, 128
    if name == "vae":
        vae = Vae(3, 32, 32, 32, 128, False).to(dev, memory_format=fmt)  # VAAL's, z 32
        opt = torch.optim.Adam(vae.parameters(), lr=5e-4)
        x = torch.randn(64, 3, 32, 32).to(dev, memory_format=fmt)

        def step():
            recon, mu, logvar = vae(x)
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
            loss = F.mse_loss(recon, x) + kld
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step, 64
    if name == "drn-d22":
        net = DrnSeg(19, 3, 1.0).to(dev, memory_format=fmt)  # Cityscapes classes, full width
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
        x = torch.randn(8, 3, 256, 256).to(dev, memory_format=fmt)
        y = torch.randint(0, 19, (8, 256, 256))
        y[torch.rand(8, 256, 256) < 0.1] = 255
        y = y.to(dev)

        def step():
            loss = F.cross_entropy(net(x), y, ignore_index=255)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step, 8
    raise ValueError(name)


def worker(name, channels_last, warmup, repeats, device="cpu", tf32=False):
    import torch
    torch.set_num_threads(2)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
    step, batch = build_step(name, channels_last, device)
    times = time_ms(step, warmup, repeats)
    print(json.dumps({"median_ms": times[len(times) // 2], "min_ms": times[0], "batch": batch}))


# --------------------------------------------------------------------------- the driver
def run_torch(name, warmup, repeats, isa):
    best = None
    for cl, passive, jemalloc in itertools.product([False, True], [False, True], [False, True]):
        if jemalloc and not os.path.exists(JEMALLOC):
            continue
        args = ["--worker", name, "--warmup", str(warmup), "--repeats", str(repeats)]
        r = run_worker(__file__, args + (["--channels-last"] if cl else []), passive, jemalloc,
                       isa)
        config = "{}{}{}".format("channels_last" if cl else "NCHW",
                                 ", OMP_WAIT_POLICY=passive" if passive else "",
                                 ", jemalloc" if jemalloc else "")
        print(f"  torch {name:12s} {config:45s} {r['median_ms']:9.1f} ms", flush=True)
        if best is None or r["median_ms"] < best[0]["median_ms"]:
            best = (r, config)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sraal", default="build/sraal", help="path of the sraal binary")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds (best kept)")
    add_common_arguments(ap)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--channels-last", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tf32", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.channels_last, a.warmup, a.repeats, a.device, a.tf32)
        return
    if a.device == "cuda":
        compare_cuda(a)
        return
    check_sraal_isa(a.sraal, a.isa)
    with BusyNeighbours(a.load):
        compare(a)


def compare(a):
    steps = a.steps.split(",")
    # Rounds alternate the two sides step by step, so that a transient load on the machine hits
    # both; each side keeps its best median over the rounds.
    torch_best, ours = {}, {}
    for rnd in range(a.rounds):
        for s in steps:
            t = run_torch(s, a.warmup, a.repeats, a.isa)
            if s not in torch_best or t[0]["median_ms"] < torch_best[s][0]["median_ms"]:
                torch_best[s] = t
            out = subprocess.run([a.sraal, "bench", "--json", "--steps", s, "--warmup",
                                  str(a.warmup), "--repeats", str(a.repeats)],
                                 capture_output=True, text=True, check=True,
                                 env=isa_environment(a.isa)).stdout
            o = json.loads(out.strip().splitlines()[-1])
            print(f"  sraal {s:12s} {'':45s} {o['median_ms']:9.1f} ms", flush=True)
            if s not in ours or o["median_ms"] < ours[s]["median_ms"]:
                ours[s] = o
    print()
    print(f"{'step':12s} {'sraal ms':>9s} {'torch ms':>9s} {'ratio':>6s}  torch config")
    for s in steps:
        (t, config), o = torch_best[s], ours[s]
        print(f"{s:12s} {o['median_ms']:9.1f} {t['median_ms']:9.1f} "
              f"{o['median_ms'] / t['median_ms']:6.2f}  {config}")
    print("\nratio = sraal median / best torch median (below 1: sraal is faster); "
          f"best of {a.rounds} rounds per side; ISA cap {a.isa}, {a.load} busy neighbour(s)")


def compare_cuda(a):
    """Both sides on the GPU, TF32 off and on; torch in NCHW and channels_last."""
    rows = []
    for s in a.steps.split(","):
        for tf32 in (False, True):
            best = None
            for cl in (False, True):
                args = ["--worker", s, "--warmup", str(a.warmup), "--repeats", str(a.repeats),
                        "--device", "cuda"] + (["--channels-last"] if cl else []) + \
                       (["--tf32"] if tf32 else [])
                r = run_worker(__file__, args, False, False)
                print(f"  torch {s:12s} tf32 {int(tf32)} {'channels_last' if cl else 'NCHW':14s} "
                      f"{r['median_ms']:9.2f} ms", flush=True)
                if best is None or r["median_ms"] < best[0]["median_ms"]:
                    best = (r, "channels_last" if cl else "NCHW")
            flags = ["--cudnn-benchmark"] + (["--tf32"] if tf32 else [])
            out = subprocess.run([a.sraal] + flags + ["bench", "--device", "cuda", "--json",
                                  "--steps", s, "--warmup", str(a.warmup), "--repeats",
                                  str(a.repeats)], capture_output=True, text=True,
                                 check=True).stdout
            o = json.loads(out.strip().splitlines()[-1])
            print(f"  sraal {s:12s} tf32 {int(tf32)} {'':14s} {o['median_ms']:9.2f} ms", flush=True)
            rows.append((s, tf32, o["median_ms"], best[0]["median_ms"], best[1]))
    print()
    print(f"{'step':12s} {'tf32':>4s} {'sraal ms':>9s} {'torch ms':>9s} {'ratio':>6s}  torch layout")
    for s, tf32, ours, theirs, layout in rows:
        print(f"{s:12s} {int(tf32):4d} {ours:9.2f} {theirs:9.2f} {ours / theirs:6.2f}  {layout}")
    print("\nratio = sraal median / best torch median on the GPU (below 1: sraal is faster)")


if __name__ == "__main__":
    main()
