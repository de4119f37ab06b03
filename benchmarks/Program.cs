using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Running;
using StaticNet;
using StaticNet.Benchmarks;

// dotnet run -c Release --project benchmarks                 BenchmarkDotNet over every workload (a few minutes)
// dotnet run -c Release --project benchmarks -- --compare    plain timings as JSON lines, for benchmarks/compare.py
//                                                             (StaticNet's workloads, then ONNX Runtime's inference as "ort:...")
// dotnet run -c Release --project benchmarks -- --only NAME [--threads N] [--no-prepack]
//                                                             one of --compare's StaticNet workloads alone, in a fresh process
//                                                             (inference with the weights prepacked unless --no-prepack;
//                                                             ort:NAME runs ONNX Runtime's session on an inference workload)
// dotnet run -c Release --project benchmarks -- --peak       the one-core FMA peak probe
// dotnet run -c Release --project benchmarks -- --linear-rows
//                                                             a Linear forward streamed against packed at 8-128 rows (one thread)
// dotnet run -c Release --project benchmarks -- --lenet-layers [--threads N]
//                                                             LeNet's training step kernel by kernel (one thread unless N)
if (args.Contains("--lenet-layers"))
{
    int at = Array.IndexOf(args, "--threads");
    Threading.NumThreads = at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 1;
    LeNetLayers.Run();
    return;
}
if (args.Contains("--linear-rows"))
{
    LinearRows.Run();
    return;
}
if (args.Contains("--peak"))
{
    Console.WriteLine($"fp32 FMA peak, one core: {PeakProbe.GflopsOneCore():0} GFLOP/s");
    return;
}
// StaticNet's workloads for --compare and --only, in the order --compare runs them (training first, then evaluation mode);
// the ResNet's epoch only with --only (compare.py --resnet runs it: PyTorch takes minutes on it).
var compared = new (string Name, double Flops, Func<Workloads, Action> Call, int Repeats, bool Eval)[]
{
    ("resnet_epoch", Workloads.Flops.ResNetEpoch, w => () => w.ResNetEpoch(), 3, false),
    ("mlp_epoch", Workloads.Flops.MlpEpoch, w => () => w.MlpEpoch(), 7, false),
    ("softmax_epoch", Workloads.Flops.SoftmaxEpoch, w => () => w.SoftmaxEpoch(), 7, false),
    ("lenet_epoch", Workloads.Flops.LeNetEpoch, w => () => w.LeNetEpoch(), 5, false),
    ("mlp_infer_b1", Workloads.Flops.MlpInferenceOne, w => w.MlpInferenceOne, 20_000, true),
    ("mlp_infer_b16", Workloads.Flops.MlpInferenceSmall, w => w.MlpInferenceSmall, 5_000, true),
    ("mlp_infer_b256", Workloads.Flops.MlpInferenceBatch, w => w.MlpInferenceBatch, 500, true),
    ("tiny_adam_step", Workloads.Flops.TinyAdamStep, w => () => w.TinyAdamStep(), 50_000, true),
    ("lenet_infer_b1", Workloads.Flops.LeNetInferenceOne, w => w.LeNetInferenceOne, 20_000, true),
    ("lenet_infer_b256", Workloads.Flops.LeNetInferenceBatch, w => w.LeNetInferenceBatch, 200, true),
};
// ONNX Runtime on the same networks (exported by StaticNet.Onnx), inference only, as the "ort" anchor.
var ortCompared = new (string Name, Func<int, Network> Create, double Flops)[]
{
    ("mlp_infer_b1", b => new Mlp(b, 1), Workloads.Flops.MlpInferenceOne),
    ("mlp_infer_b16", b => new Mlp(b, 1), Workloads.Flops.MlpInferenceSmall),
    ("mlp_infer_b256", b => new Mlp(b, 1), Workloads.Flops.MlpInferenceBatch),
    ("lenet_infer_b1", b => new LeNet(b, 1), Workloads.Flops.LeNetInferenceOne),
    ("lenet_infer_b256", b => new LeNet(b, 1), Workloads.Flops.LeNetInferenceBatch),
};
if (args.Contains("--only"))
{
    int at = Array.IndexOf(args, "--only"), threadsAt = Array.IndexOf(args, "--threads");
    string name = at + 1 < args.Length ? args[at + 1] : "";
    int threads = threadsAt >= 0 && threadsAt + 1 < args.Length ? int.Parse(args[threadsAt + 1], CultureInfo.InvariantCulture) : 1;
    int ortIndex = Array.FindIndex(ortCompared, w => "ort:" + w.Name == name);
    if (ortIndex >= 0)
    {
        RunOrt(ortCompared[ortIndex], threads);
        return;
    }
    int index = Array.FindIndex(compared, w => w.Name == name);
    if (index < 0)
    {
        Console.Error.WriteLine($"--only takes one of {string.Join(", ", compared.Select(w => w.Name).Concat(ortCompared.Select(w => "ort:" + w.Name)))}; \"{name}\" came.");
        Environment.Exit(2);
    }
    Threading.NumThreads = threads;
    var workloads = new Workloads();
    if (compared[index].Eval) workloads.EvalMode(prepack: !args.Contains("--no-prepack"));
    Report(name, Threading.NumThreads, compared[index].Flops, compared[index].Call(workloads), compared[index].Repeats);
    return;
}
if (args.Contains("--compare"))
{
    foreach (int threads in new[] { 1, 2 })
    {
        Threading.NumThreads = threads;
        var workloads = new Workloads();
        bool eval = false;
        foreach (var workload in compared.Where(w => w.Name != "resnet_epoch"))
        {
            if (workload.Eval && !eval)
            {
                workloads.EvalMode();
                eval = true;
            }
            Report(workload.Name, threads, workload.Flops, workload.Call(workloads), workload.Repeats);
        }
    }
    foreach (int threads in new[] { 1, 2 })
    {
        foreach (var workload in ortCompared) RunOrt(workload, threads); // ONNX Runtime, after all of StaticNet's
    }
    Console.WriteLine($$"""{"workload": "peak", "gflops": {{PeakProbe.GflopsOneCore().ToString("0.0", CultureInfo.InvariantCulture)}}}""");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Workloads).Assembly).Run(args);

// ONNX Runtime's session on one of the networks, reported as "ort:NAME".
static void RunOrt((string Name, Func<int, Network> Create, double Flops) workload, int threads)
{
    int batch = workload.Name.EndsWith("_b1", StringComparison.Ordinal) ? 1 : workload.Name.EndsWith("_b16", StringComparison.Ordinal) ? Workloads.SmallBatch : Workloads.BatchSize;
    using var ort = new OrtAnchor(workload.Create(batch), batch, threads);
    Report("ort:" + workload.Name, threads, workload.Flops, ort.Run, repeats: batch == 1 ? 20_000 : batch == Workloads.SmallBatch ? 5_000 : 300);
}

// Median over 5 rounds of the mean time per call. Warms up for at least 2 s first, so that the JIT's tiered compilation
// has replaced every method with its optimized code, and checks that a call allocates nothing. The warm-up runs whole
// rounds through the same code as the measured ones, so that nothing runs for the first time once the measuring starts
// (when the rounds were collected in a List, its methods' first calls were followed by a burst of tier-1 compilation,
// on the second vCPU, inside the measured rounds: seen with DOTNET_JitDisasmSummary=1).
static void Report(string name, int threads, double flops, Action action, int repeats)
{
    int calls = Math.Max(1, repeats / 5);
    var rounds = new double[5];
    var warmup = Stopwatch.StartNew();
    for (int i = 0; i < 2 || warmup.Elapsed.TotalSeconds < 2; i++) rounds[0] = Round(action, calls);
    long allocated = GC.GetAllocatedBytesForCurrentThread();
    action();
    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
    for (int round = 0; round < rounds.Length; round++) rounds[round] = Round(action, calls);
    Array.Sort(rounds);
    double seconds = rounds[rounds.Length / 2];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $$"""{"workload": "{{name}}", "threads": {{threads}}, "seconds": {{seconds:E4}}, "gflops": {{flops / seconds / 1e9:0.0}}, "bytes_allocated": {{allocated}}}"""));
}

// The mean time of one call over a round of calls.
[MethodImpl(MethodImplOptions.NoInlining)]
static double Round(Action action, int calls)
{
    long start = Stopwatch.GetTimestamp();
    for (int i = 0; i < calls; i++) action();
    return Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
}
