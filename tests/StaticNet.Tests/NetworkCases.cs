using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>The declared test networks, by name, with what the tests need to build and drive each.</summary>
public static class NetworkCases
{
    public sealed record Case(string Name, Func<int, ulong, Network> Construct, int[] InputShape)
    {
        /// <summary>The network, its normalisation layers given weights, biases and running statistics away from their defaults.</summary>
        public Network Create(int maxBatch, ulong seed)
        {
            Network net = Construct(maxBatch, seed);
            RandomizeNormalization(net, (int)seed);
            return net;
        }
    }

    /// <summary>Weights in [0.5, 1.5], biases and running means in [-1, 1], running variances in [0.5, 2].</summary>
    public static void RandomizeNormalization(Module net, int seed)
    {
        var random = new Random(seed);
        float Uniform(float a, float b) => a + (b - a) * (float)random.NextDouble();
        foreach (Module module in net.Modules())
        {
            (Parameter? weight, Parameter? bias, ModuleBuffer? mean, ModuleBuffer? variance) = module switch
            {
                BatchNorm bn => (bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar),
                LayerNorm ln => (ln.Weight, ln.Bias, null, null),
                _ => (null, null, null, null),
            };
            if (weight is not null) foreach (ref float v in weight.Data) v = Uniform(0.5f, 1.5f);
            if (bias is not null) foreach (ref float v in bias.Data) v = Uniform(-1f, 1f);
            if (mean is not null) foreach (ref float v in mean.Data) v = Uniform(-1f, 1f);
            if (variance is not null) foreach (ref float v in variance.Data) v = Uniform(0.5f, 2f);
        }
    }

    public static readonly IReadOnlyDictionary<string, Case> All = new[]
    {
        new Case(nameof(FashionMlp), (b, s) => new FashionMlp(b, s), FashionMlp.InputShape.ToArray()),
        new Case(nameof(TanhSigmoidNet), (b, s) => new TanhSigmoidNet(b, s), TanhSigmoidNet.InputShape.ToArray()),
        new Case(nameof(Rank2Net), (b, s) => new Rank2Net(b, s), Rank2Net.InputShape.ToArray()),
        new Case(nameof(Rank3Net), (b, s) => new Rank3Net(b, s), Rank3Net.InputShape.ToArray()),
        new Case(nameof(SoftmaxHead), (b, s) => new SoftmaxHead(b, s), SoftmaxHead.InputShape.ToArray()),
        new Case(nameof(ActivationFirst), (b, s) => new ActivationFirst(b, s), ActivationFirst.InputShape.ToArray()),
        new Case(nameof(NoParameters), (b, s) => new NoParameters(b, s), NoParameters.InputShape.ToArray()),
        new Case(nameof(Outer.Nested), (b, s) => new Outer.Nested(b, s), Outer.Nested.InputShape.ToArray()),
        new Case(nameof(Composite), (b, s) => new Composite(b, s), Composite.InputShape.ToArray()),
        new Case(nameof(ViewResidual), (b, s) => new ViewResidual(b, s), ViewResidual.InputShape.ToArray()),
        new Case(nameof(Rank2Outer), (b, s) => new Rank2Outer(b, s), Rank2Outer.InputShape.ToArray()),
        new Case(nameof(DeepComposite), (b, s) => new DeepComposite(b, s), DeepComposite.InputShape.ToArray()),
        new Case(nameof(FusedRelus), (b, s) => new FusedRelus(b, s), FusedRelus.InputShape.ToArray()),
        new Case(nameof(BnMlp), (b, s) => new BnMlp(b, s), BnMlp.InputShape.ToArray()),
        new Case(nameof(Bn1dSeq), (b, s) => new Bn1dSeq(b, s), Bn1dSeq.InputShape.ToArray()),
        new Case(nameof(Bn2d), (b, s) => new Bn2d(b, s), Bn2d.InputShape.ToArray()),
        new Case(nameof(Bn2dPlain), (b, s) => new Bn2dPlain(b, s), Bn2dPlain.InputShape.ToArray()),
        new Case(nameof(LnMlp), (b, s) => new LnMlp(b, s), LnMlp.InputShape.ToArray()),
        new Case(nameof(Ln2), (b, s) => new Ln2(b, s), Ln2.InputShape.ToArray()),
        new Case(nameof(LnPlain), (b, s) => new LnPlain(b, s), LnPlain.InputShape.ToArray()),
        new Case(nameof(LnNoBias), (b, s) => new LnNoBias(b, s), LnNoBias.InputShape.ToArray()),
        new Case(nameof(BnFirst), (b, s) => new BnFirst(b, s), BnFirst.InputShape.ToArray()),
        new Case(nameof(NormComposite), (b, s) => new NormComposite(b, s), NormComposite.InputShape.ToArray()),
        new Case(nameof(BnReluMlp), (b, s) => new BnReluMlp(b, s), BnReluMlp.InputShape.ToArray()),
        new Case(nameof(ResidualReluNet), (b, s) => new ResidualReluNet(b, s), ResidualReluNet.InputShape.ToArray()),
        new Case(nameof(SmallLeNet), (b, s) => new SmallLeNet(b, s), SmallLeNet.InputShape.ToArray()),
        new Case(nameof(StridedGroups), (b, s) => new StridedGroups(b, s), StridedGroups.InputShape.ToArray()),
        new Case(nameof(SamePadding), (b, s) => new SamePadding(b, s), SamePadding.InputShape.ToArray()),
        new Case(nameof(Rectangular), (b, s) => new Rectangular(b, s), Rectangular.InputShape.ToArray()),
        new Case(nameof(Adaptive), (b, s) => new Adaptive(b, s), Adaptive.InputShape.ToArray()),
        new Case(nameof(Depthwise), (b, s) => new Depthwise(b, s), Depthwise.InputShape.ToArray()),
        new Case(nameof(TinyResNet), (b, s) => new TinyResNet(b, s), TinyResNet.InputShape.ToArray()),
        new Case(nameof(ShortcutViews), (b, s) => new ShortcutViews(b, s), ShortcutViews.InputShape.ToArray()),
        new Case(nameof(Kernel5), (b, s) => new Kernel5(b, s), Kernel5.InputShape.ToArray()),
        new Case(nameof(Signal1d), (b, s) => new Signal1d(b, s), Signal1d.InputShape.ToArray()),
        new Case(nameof(Pool1dMix), (b, s) => new Pool1dMix(b, s), Pool1dMix.InputShape.ToArray()),
        new Case(nameof(Adaptive1d), (b, s) => new Adaptive1d(b, s), Adaptive1d.InputShape.ToArray()),
        new Case(nameof(GlobalPool1d), (b, s) => new GlobalPool1d(b, s), GlobalPool1d.InputShape.ToArray()),
    }.ToDictionary(c => c.Name);

    public static TheoryData<string> Names => new(All.Keys);

    /// <summary>Runs <paramref name="run"/> with <see cref="Threading.NumThreads"/> set to <paramref name="threads"/>, and restores it.</summary>
    public static T OnThreads<T>(int threads, Func<T> run)
    {
        int saved = Threading.NumThreads;
        Threading.NumThreads = threads;
        try
        {
            return run();
        }
        finally
        {
            Threading.NumThreads = saved;
        }
    }

    /// <summary>Runs <paramref name="run"/> with <see cref="Threading.NumThreads"/> set to <paramref name="threads"/>, and restores it.</summary>
    public static void OnThreads(int threads, Action run) => OnThreads(threads, () =>
    {
        run();
        return 0;
    });

    /// <summary>Uniform floats in [-scale, scale), from a fixed seed.</summary>
    public static float[] RandomFloats(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
    }
}
