using System;
using Microsoft.ML.OnnxRuntime;
using StaticNet;

namespace StaticNet.Benchmarks;

/// <summary>
/// ONNX Runtime (CPU provider) as an inference anchor: a StaticNet network exported with StaticNet.Onnx, run through an
/// InferenceSession with the intra-op thread count given, inputs and outputs bound once to preallocated tensors so that
/// a call does no more than ONNX Runtime itself does. Graph optimizations at their highest level, sequential execution.
/// </summary>
public sealed class OrtAnchor : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtValue _input, _output;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _run = new();

    public OrtAnchor(Network net, int batch, int threads)
    {
        net.Eval();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(Onnx.ToBytes(net), options);
        long[] inputShape = [batch, .. Array.ConvertAll(net.SampleInputShape.ToArray(), d => (long)d)];
        long[] outputShape = [batch, .. Array.ConvertAll(net.SampleOutputShape.ToArray(), d => (long)d)];
        var x = new float[batch * net.SampleInputSize];
        var random = new Random(1);
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextDouble();
        _input = OrtValue.CreateTensorValueFromMemory(x, inputShape);
        _output = OrtValue.CreateTensorValueFromMemory(new float[batch * net.SampleOutputSize], outputShape);
        _binding = _session.CreateIoBinding();
        _binding.BindInput("input", _input);
        _binding.BindOutput("output", _output);
    }

    /// <summary>One inference call over the bound batch.</summary>
    public void Run() => _session.RunWithBinding(_run, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        _input.Dispose();
        _output.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
