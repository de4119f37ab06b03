#!/usr/bin/python3
"""StaticNet against PyTorch (and, for inference, ONNX Runtime) on the same machine, the same workloads, in one invocation.

    bash benchmarks/compare.sh            (installs what it needs on Debian, then runs this)
    bash benchmarks/compare.sh --torchsharp   (also TorchSharp-cpu 0.107, a 1.5 GB restore, from benchmarks/torchsharp)
    bash benchmarks/compare.sh --rounds 3     (everything 3 times, PyTorch and StaticNet in turn; medians of the rounds)
    bash benchmarks/compare.sh --resnet [--rounds 3]   (only the Fashion-MNIST sample's small ResNet: training on 10,240
                                          samples, 1 and up to 2 threads; several minutes per round)
    bash benchmarks/compare.sh --avx2     (as a CPU without AVX-512 would run: StaticNet with DOTNET_EnableAVX512=0, PyTorch
                                          with OpenBLAS's Haswell kernels and oneDNN held to AVX2; ONNX Runtime left out, as
                                          it cannot be held back)

Runs each workload in PyTorch (Debian's python3-torch; its BLAS is OpenBLAS from libopenblas0-pthread) on 1 and on
2 threads, then StaticNet's '--compare' mode (benchmarks/Program.cs, Threading.NumThreads 1 and 2), and prints time, GFLOP/s of
useful work and the ratio StaticNet time / PyTorch time. Data are synthetic with Fashion-MNIST's sizes, as in
benchmarks/Workloads.cs. Each figure is the median of 5 rounds. On a shared host another tenant can slow one side for a
minute and swing a ratio by a third; with --rounds N the whole comparison (PyTorch's runs, then StaticNet's) is repeated
N times and each figure is the median over the rounds of that workload's figure.

OpenBLAS keeps a thread pool of its own that torch.set_num_threads does not control, so each PyTorch configuration
runs in a fresh process with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set before torch loads. For 1 thread both are 1;
for "up to 2 threads" every split of the two pools is tried, one thread included, and the fastest taken per workload:
PyTorch's best case.

PyTorch at its best on the CPU at hand: OpenBLAS 0.3.21 does not recognise every CPU (on the Intel Xeon of family 6,
model 207 it falls back to its Prescott kernels, about 3x slower), so the core type is chosen here: the one the CPU's
flags name (avx512_bf16: Cooperlake; avx512f: SkylakeX; avx2: Haswell) and OpenBLAS's own detection are both timed on
a 256 x 784 x 256 product, and the faster is used for every PyTorch run (both times are printed). OPENBLAS_L2_SIZE is
left to OpenBLAS. Each training epoch is timed with two loops and the faster counts: gathering each batch with data[idx],
and shuffling once per epoch with index_select then slicing contiguous batches (the second was faster on the Intel
machine, the first on the AMD one).
"""
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

SAMPLES, BATCH, TINY_BATCH, SMALL_BATCH = 60_000, 256, 32, 16
# LeNet's multiply-adds per sample: conv1 6 x 25 x 784, conv2 16 x 150 x 100, then the three Linear layers.
LENET_FORWARD = 6 * 25 * 784 + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10
FLOPS = {
    "mlp_epoch": SAMPLES * (3.0 * 2 * 784 * 256 + 3.0 * 2 * 256 * 10 - 2.0 * 784 * 256),
    "softmax_epoch": SAMPLES * 2.0 * (2 * 784 * 10),
    "mlp_infer_b1": 2.0 * (784 * 256 + 256 * 10),
    "mlp_infer_b16": SMALL_BATCH * 2.0 * (784 * 256 + 256 * 10),
    "mlp_infer_b256": BATCH * 2.0 * (784 * 256 + 256 * 10),
    "tiny_adam_step": TINY_BATCH * (3.0 * 2 * (2 * 16 + 16 * 16 + 16) - 2.0 * 2 * 16),
    "lenet_epoch": SAMPLES * 2.0 * (3 * LENET_FORWARD - 6 * 25 * 784),
    "lenet_infer_b1": 2.0 * LENET_FORWARD,
    "lenet_infer_b256": BATCH * 2.0 * LENET_FORWARD,
}
# The small ResNet's convolutions' multiply-adds per sample (as benchmarks/Workloads.cs counts them), timed on
# RESNET_SAMPLES samples: training counts every weight gradient and every input gradient but the stem's.
RESNET_SAMPLES, RESNET_FORWARD, RESNET_STEM = 10_240, 9_345_920, 16 * 9 * 784
RESNET_FLOPS = RESNET_SAMPLES * 2.0 * (3 * RESNET_FORWARD - RESNET_STEM)


def median_time(fn, repeats, rounds=5):
    for _ in range(max(2, repeats // 10)):
        fn()
    times = []
    for _ in range(rounds):
        n = max(1, repeats // rounds)
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def torch_workloads(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    data = torch.rand(SAMPLES, 1, 28, 28)
    labels = torch.randint(0, 10, (SAMPLES,))
    loss_fn = nn.CrossEntropyLoss()

    def step(net, opt, x, y):
        loss = loss_fn(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def epoch_gathered(net, opt):
        perm = torch.randperm(SAMPLES)
        for i in range(0, SAMPLES, BATCH):
            idx = perm[i:i + BATCH]
            step(net, opt, data[idx], labels[idx])

    def epoch_sliced(net, opt):
        perm = torch.randperm(SAMPLES)
        shuffled, shuffled_labels = data.index_select(0, perm), labels.index_select(0, perm)
        for i in range(0, SAMPLES, BATCH):
            step(net, opt, shuffled[i:i + BATCH], shuffled_labels[i:i + BATCH])

    def epoch_time(net, opt, repeats, rounds=5):
        # The faster of the two loops: which one wins depends on the CPU (on the AMD machine the gathered one, on the
        # Intel one the sliced one).
        return min(median_time(lambda: loop(net, opt), repeats, rounds) for loop in (epoch_gathered, epoch_sliced))

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    mlp_opt = torch.optim.SGD(mlp.parameters(), lr=0.1)
    softmax = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    softmax_opt = torch.optim.SGD(softmax.parameters(), lr=0.1)
    one, small, batch = data[:1].clone(), data[:SMALL_BATCH].clone(), data[:BATCH].clone()

    def infer(x):
        with torch.inference_mode():
            mlp(x)

    tiny = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    tiny_opt = torch.optim.Adam(tiny.parameters(), lr=1e-3)
    tx = torch.rand(TINY_BATCH, 2) * 2 - 1
    ty = (torch.sin(tx[:, 0]) * torch.cos(tx[:, 1])).unsqueeze(1)
    mse = nn.MSELoss()

    def tiny_step():
        loss = mse(tiny(tx), ty)
        tiny_opt.zero_grad()
        loss.backward()
        tiny_opt.step()

    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.Sigmoid(),
                          nn.AvgPool2d(2, 2), nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                          nn.Linear(84, 10))
    lenet_opt = torch.optim.SGD(lenet.parameters(), lr=0.1)

    def lenet_infer(x):
        with torch.inference_mode():
            lenet(x)

    return {
        "lenet_epoch": epoch_time(lenet, lenet_opt, 3, rounds=3),
        "lenet_infer_b1": median_time(lambda: lenet_infer(one), 2000),
        "lenet_infer_b256": median_time(lambda: lenet_infer(batch), 100),
        "mlp_epoch": epoch_time(mlp, mlp_opt, 5),
        "softmax_epoch": epoch_time(softmax, softmax_opt, 5),
        "mlp_infer_b1": median_time(lambda: infer(one), 5000),
        "mlp_infer_b16": median_time(lambda: infer(small), 2000),
        "mlp_infer_b256": median_time(lambda: infer(batch), 500),
        "tiny_adam_step": median_time(tiny_step, 5000),
    }


def torch_resnet_epoch(threads):
    """The sample's ResNet (StaticNet's module names as PyTorch's) trained on RESNET_SAMPLES samples, SGD lr 0.05 momentum 0.9."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    data = torch.rand(RESNET_SAMPLES, 1, 28, 28)
    labels = torch.randint(0, 10, (RESNET_SAMPLES,))

    class Residual(nn.Module):
        def __init__(self, block, shortcut=None):
            super().__init__()
            self.block, self.shortcut = block, shortcut

        def forward(self, x):
            return self.block(x) + (x if self.shortcut is None else self.shortcut(x))

    def body(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))

    def projection(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    net = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                        Residual(body(16, 16, 1)), nn.ReLU(), Residual(body(16, 32, 2), projection(16, 32)), nn.ReLU(),
                        Residual(body(32, 64, 2), projection(32, 64)), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(RESNET_SAMPLES)
        shuffled, shuffled_labels = data.index_select(0, perm), labels.index_select(0, perm)
        for i in range(0, RESNET_SAMPLES, BATCH):
            loss = loss_fn(net(shuffled[i:i + BATCH]), shuffled_labels[i:i + BATCH])
            opt.zero_grad()
            loss.backward()
            opt.step()

    return {"resnet_epoch": median_time(epoch, 3, rounds=3)}


def resnet_main(rounds):
    """The ResNet alone: PyTorch on 1 thread and at its best split of up to 2, then StaticNet's --only resnet_epoch, per round."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown CPU")
    print(f"CPU: {cpu}; torch {torch.__version__}; the sample's ResNet trained on {RESNET_SAMPLES} samples, batch {BATCH}", flush=True)
    coretype = best_coretype()

    def pytorch(openblas, omp):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-resnet", str(omp)], env=torch_env(openblas, omp, coretype),
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["resnet_epoch"]

    def ours(threads):
        out = subprocess.run(["dotnet", "run", "-c", "Release", "--project", os.path.join(root, "benchmarks"), "--", "--only", "resnet_epoch",
                              "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
        return json.loads(next(line for line in out.splitlines() if line.startswith("{")))["seconds"]

    ratios = {1: [], 2: []}
    times = {(side, threads): [] for side in ("pytorch", "staticnet") for threads in (1, 2)}
    for r in range(rounds):
        one = pytorch(1, 1)
        best = min([one, pytorch(2, 1), pytorch(1, 2), pytorch(2, 2)])
        mine = {threads: ours(threads) for threads in (1, 2)}
        for threads, theirs in ((1, one), (2, best)):
            times[("pytorch", threads)].append(theirs)
            times[("staticnet", threads)].append(mine[threads])
            ratios[threads].append(mine[threads] / theirs)
        print(f"round {r + 1} of {rounds}: ratio 1t {ratios[1][-1]:.3f}, 2t {ratios[2][-1]:.3f}", flush=True)
    peak = float(subprocess.run(["dotnet", "run", "-c", "Release", "--project", os.path.join(root, "benchmarks"), "--", "--peak"],
                                check=True, capture_output=True, text=True).stdout.split(":")[1].split()[0])
    print(f"\none-core fp32 FMA peak measured by StaticNet's probe: {peak:.0f} GFLOP/s; medians of {rounds} round(s)")
    print(f"{'workload':<16} {'threads':>7} {'PyTorch':>12} {'StaticNet':>12} {'ratio':>7} {'GFLOP/s':>8} {'% of peak':>9}")
    for threads in (1, 2):
        t, s = statistics.median(times[("pytorch", threads)]), statistics.median(times[("staticnet", threads)])
        gflops = RESNET_FLOPS / s / 1e9
        print(f"{'resnet_epoch':<16} {threads:>7} {fmt(t):>12} {fmt(s):>12} {statistics.median(ratios[threads]):>7.3f} {gflops:>8.1f} "
              f"{100 * gflops / (peak * threads):>8.0f}%")
    print(f"(ratio: the median of the rounds' own ratios; floor at the peak, 1 thread: {fmt(RESNET_FLOPS / (peak * 1e9))})")


# --avx2: both sides as on a CPU with AVX2 but no AVX-512 (set by main before anything runs).
AVX2_ONLY = False


def torch_env(openblas, omp, coretype):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS=str(openblas), OMP_NUM_THREADS=str(omp))
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    if AVX2_ONLY:
        # oneDNN (PyTorch's convolutions) reads ONEDNN_MAX_CPU_ISA (DNNL_ in older releases); ATen's own kernels
        # take ATEN_CPU_CAPABILITY.
        env.update(ONEDNN_MAX_CPU_ISA="AVX2", DNNL_MAX_CPU_ISA="AVX2", ATEN_CPU_CAPABILITY="avx2")
    return env


def torch_in_process(openblas, omp, coretype):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch", str(omp)], env=torch_env(openblas, omp, coretype),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def flagged_coretype():
    """The OpenBLAS core type the CPU's flags name, or None."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return None
    for flag, coretype in (("avx512_bf16", "Cooperlake"), ("avx512f", "SkylakeX"), ("avx2", "Haswell")):
        if flag in flags:
            return coretype
    return None


def product_time(coretype):
    """One thread's time for a 256 x 784 x 256 product under a core type (None: OpenBLAS's own detection)."""
    code = "\n".join([
        "import time, torch",
        "torch.set_num_threads(1)",
        "a, b = torch.rand(256, 784), torch.rand(784, 256)",
        "for _ in range(50): a @ b",
        "times = []",
        "for _ in range(15):",
        "    start = time.perf_counter()",
        "    for _ in range(20): a @ b",
        "    times.append((time.perf_counter() - start) / 20)",
        "print(min(times))",
    ])
    out = subprocess.run([sys.executable, "-c", code], env=torch_env(1, 1, coretype), check=True, capture_output=True, text=True).stdout
    return float(out)


def best_coretype():
    if AVX2_ONLY:
        print(f"OpenBLAS core type: Haswell (--avx2: its AVX2 kernels; one thread, 256 x 784 x 256 product: {fmt(product_time('Haswell'))})", flush=True)
        return "Haswell"
    flagged = flagged_coretype()
    candidates = [None] + ([flagged] if flagged else [])
    times = {c: product_time(c) for c in candidates}
    best = min(candidates, key=lambda c: times[c])
    described = ", ".join(f"{c or 'autodetected'} {fmt(t)}" for c, t in times.items())
    print(f"OpenBLAS core type: {best or '(autodetected)'} (one thread, 256 x 784 x 256 product: {described})", flush=True)
    return best


def staticnet_workloads(root):
    env = dict(os.environ, DOTNET_EnableAVX512="0") if AVX2_ONLY else None
    out = subprocess.run(["dotnet", "run", "-c", "Release", "--project", os.path.join(root, "benchmarks"), "--", "--compare"],
                         check=True, capture_output=True, text=True, env=env).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    peak = next(r["gflops"] for r in rows if r["workload"] == "peak")
    # ONNX Runtime's kernels pick their instruction set from the CPU itself: with --avx2 they would still use AVX-512.
    return {(r["workload"], r["threads"]): r for r in rows if r["workload"] != "peak" and not (AVX2_ONLY and r["workload"].startswith("ort:"))}, peak


def torchsharp_workloads(root):
    """TorchSharp-cpu 0.107 (LibTorch 2.10, MKL, oneDNN) on the same workloads: benchmarks/torchsharp, outside the solution."""
    out = subprocess.run(["dotnet", "run", "-c", "Release", "--project", os.path.join(root, "benchmarks", "torchsharp")],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {(r["workload"].split(":", 1)[1], r["threads"]): r["seconds"] for r in rows}


def one_round(root, coretype):
    """PyTorch on 1 thread and at its best split of up to 2, then StaticNet (and ONNX Runtime): one round of everything."""
    one = torch_in_process(1, 1, coretype)
    splits = [one, torch_in_process(2, 1, coretype), torch_in_process(1, 2, coretype), torch_in_process(2, 2, coretype)]
    pytorch = {1: one, 2: {name: min(run[name] for run in splits) for name in FLOPS}}
    ours, peak = staticnet_workloads(root)
    return pytorch, ours, peak


def median_rounds(rounds):
    """Each figure's median over the rounds (PyTorch's times, StaticNet's and ONNX Runtime's, the peak); allocation the most seen."""
    pytorch = {threads: {name: statistics.median(r[0][threads][name] for r in rounds) for name in FLOPS} for threads in (1, 2)}
    ours = {key: dict(row, seconds=statistics.median(r[1][key]["seconds"] for r in rounds),
                      bytes_allocated=max(r[1][key]["bytes_allocated"] for r in rounds)) for key, row in rounds[0][1].items()}
    return pytorch, ours, statistics.median(r[2] for r in rounds)


def main(with_torchsharp=False, rounds=1):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown CPU")
    print(f"CPU: {cpu}; torch {torch.__version__}, BLAS: {'OpenBLAS' if 'openblas' in torch.__config__.show().lower() else 'see torch.__config__.show()'}", flush=True)
    if AVX2_ONLY:
        print("--avx2: StaticNet with DOTNET_EnableAVX512=0, PyTorch with OpenBLAS's Haswell kernels and oneDNN held to AVX2", flush=True)
    coretype = best_coretype()
    results = []
    for r in range(rounds):
        results.append(one_round(root, coretype))
        if rounds > 1:
            pt, us, pk = results[-1]
            print(f"round {r + 1} of {rounds}: " + ", ".join(f"{name} {threads}t {us[(name, threads)]['seconds'] / pt[threads][name]:.3f}"
                                                          for name in ("mlp_epoch", "lenet_epoch") for threads in (1, 2)), flush=True)
    pytorch, ours, peak = median_rounds(results)
    torchsharp = torchsharp_workloads(root) if with_torchsharp else {}
    if rounds > 1:
        # A round's two halves run minutes apart, so a slow minute on one side moves a median of times; the ratios taken
        # within each round and then their median are the steadier figure.
        print(f"medians of {rounds} rounds; median of the rounds' own ratios: " + ", ".join(
            f"{name} {threads}t {statistics.median(us[(name, threads)]['seconds'] / pt[threads][name] for pt, us, _ in results):.3f}"
            for name in ("mlp_epoch", "lenet_epoch") for threads in (1, 2)))
    print(f"one-core fp32 FMA peak measured by StaticNet's probe: {peak:.0f} GFLOP/s (% of peak: of threads x that)\n")
    print(f"{'workload':<16} {'threads':>7} {'PyTorch':>12} {'StaticNet':>12} {'ratio':>7} {'GFLOP/s':>8} {'% of peak':>9} {'alloc B':>8}"
          f" {'ONNX Runtime':>12} {'vs ORT':>7}" + (f" {'TorchSharp':>12} {'vs TS':>7}" if torchsharp else ""))
    for name in FLOPS:
        for threads in (1, 2):
            ours_row = ours[(name, threads)]
            s, t = ours_row["seconds"], pytorch[threads][name]
            gflops = FLOPS[name] / s / 1e9
            # ONNX Runtime 1.31.1 (C#, CPU provider, the same network exported by StaticNet.Onnx), inference rows only.
            ort = ours.get(("ort:" + name, threads))
            ort_text = f" {fmt(ort['seconds']):>12} {s / ort['seconds']:>7.3f}" if ort else f" {'':>12} {'':>7}"
            ts = torchsharp.get((name, threads))
            ts_text = f" {fmt(ts):>12} {s / ts:>7.3f}" if ts else ""
            print(f"{name:<16} {threads:>7} {fmt(t):>12} {fmt(s):>12} {s / t:>7.3f} {gflops:>8.1f} {100 * gflops / (peak * threads):>8.0f}% "
                  f"{ours_row['bytes_allocated']:>8}{ort_text}{ts_text}")
    # The lowest ratio any implementation could reach against this PyTorch run: its useful multiply-adds alone, at the
    # probe's peak on every thread, with nothing else (no data loading, no elementwise work, no memory stalls).
    print("\nfloor (useful flops at the measured peak, nothing else), and StaticNet's and PyTorch's time over it:")
    for name in ("mlp_epoch", "softmax_epoch", "lenet_epoch", "tiny_adam_step"):
        for threads in (1, 2):
            floor = FLOPS[name] / (peak * threads * 1e9)
            print(f"  {name}, {threads} thread{'s' if threads > 1 else ''}: {fmt(floor)}; StaticNet {ours[(name, threads)]['seconds'] / floor:.2f}x, "
                  f"PyTorch {pytorch[threads][name] / floor:.2f}x")


def fmt(seconds):
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.2f} us"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--torch":
        print(json.dumps(torch_workloads(int(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--torch-resnet":
        print(json.dumps(torch_resnet_epoch(int(sys.argv[2]))))
    else:
        args = sys.argv[1:]
        rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 1
        if rounds < 1:
            sys.exit("--rounds takes a count of at least 1")
        AVX2_ONLY = "--avx2" in args
        if AVX2_ONLY and ("--resnet" in args or "--torchsharp" in args):
            sys.exit("--avx2 goes with the main comparison only (not --resnet or --torchsharp)")
        sys.exit(resnet_main(rounds) if "--resnet" in args else main(with_torchsharp="--torchsharp" in args, rounds=rounds))
