using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>The declared test networks, by name, with what the tests need to build and drive each.</summary>
public static class NetworkCases
{
    public sealed record Case(string Name, Func<int, ulong, Network> Create, int[] InputShape);

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
    }.ToDictionary(c => c.Name);

    public static TheoryData<string> Names => new(All.Keys);

    /// <summary>Uniform floats in [-scale, scale), from a fixed seed.</summary>
    public static float[] RandomFloats(int count, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
    }
}
