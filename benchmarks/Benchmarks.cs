using BenchmarkDotNet.Attributes;

namespace StaticNet.Benchmarks;

/// <summary>The workloads under BenchmarkDotNet, with allocations counted; a short job keeps the whole run to a few minutes.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class TrainingBenchmarks
{
    private Workloads _workloads = null!;

    [GlobalSetup]
    public void Setup() => _workloads = new Workloads();

    [Benchmark(Description = "MLP epoch, 60k samples, batch 256, SGD")]
    public EpochResult MlpEpoch() => _workloads.MlpEpoch();

    [Benchmark(Description = "Softmax regression epoch, 60k samples, batch 256, SGD")]
    public EpochResult SoftmaxEpoch() => _workloads.SoftmaxEpoch();

    [Benchmark(Description = "LeNet epoch, 60k samples, batch 256, SGD")]
    public EpochResult LeNetEpoch() => _workloads.LeNetEpoch();
}

[MemoryDiagnoser]
[ShortRunJob]
public class StepBenchmarks
{
    private Workloads _workloads = null!;

    [GlobalSetup]
    public void Setup()
    {
        _workloads = new Workloads();
        _workloads.EvalMode();
    }

    [Benchmark(Description = "MLP inference, batch 1")]
    public void MlpInferenceOne() => _workloads.MlpInferenceOne();

    [Benchmark(Description = "MLP inference, batch 16")]
    public void MlpInferenceSmall() => _workloads.MlpInferenceSmall();

    [Benchmark(Description = "MLP inference, batch 256")]
    public void MlpInferenceBatch() => _workloads.MlpInferenceBatch();

    [Benchmark(Description = "2-16-16-1 tanh, Adam step, batch 32")]
    public float TinyAdamStep() => _workloads.TinyAdamStep();

    [Benchmark(Description = "LeNet inference, batch 1")]
    public void LeNetInferenceOne() => _workloads.LeNetInferenceOne();

    [Benchmark(Description = "LeNet inference, batch 256")]
    public void LeNetInferenceBatch() => _workloads.LeNetInferenceBatch();
}
