using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>
/// Random valid declarations (input ranks 1 to 3, every layer kind, with and without bias) compiled in memory with the
/// generator, loaded, run, and checked against the reference forward and finite-difference gradients.
/// </summary>
public class CompileAndRunTests
{
    private sealed record Declaration(string Name, int[] InputShape, string Source);

    [Fact]
    public void Random_declarations_compile_run_and_match_the_reference()
    {
        var random = new Random(2026);
        List<Declaration> declarations = Enumerable.Range(0, 40).Select(i => RandomDeclaration(random, "Net" + i)).ToList();
        string source = "using StaticNet;\nnamespace Random;\n" + string.Join("\n", declarations.Select(d => d.Source));

        GeneratorHarness.Run run = GeneratorHarness.Generate(source);
        Assert.Empty(run.GeneratorDiagnostics);
        Assembly assembly = new AssemblyLoadContext("random-networks", isCollectible: true)
            .LoadFromStream(new MemoryStream(GeneratorHarness.Emit(run.Output)));

        var kinds = new HashSet<Type>();
        foreach (Declaration declaration in declarations)
        {
            Type type = assembly.GetType("Random." + declaration.Name)!;
            var net = (Network)Activator.CreateInstance(type, 4, 9UL)!;
            net.Eval();
            kinds.UnionWith(net.Children().Select(m => m.GetType()));
            Assert.Equal(declaration.InputShape.Aggregate(1, (a, b) => a * b), (int)type.GetField("InputSize")!.GetValue(null)!);

            float[] input = NetworkCases.RandomFloats(4 * net.SampleInputSize, 1, 2f);
            var output = new float[4 * net.SampleOutputSize];
            net.Forward(input, output);
            double[] expected = new ReferenceNetwork(net, declaration.InputShape).Forward(input.Select(v => (double)v).ToArray(), 4);
            for (int i = 0; i < output.Length; i++)
            {
                Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]),
                    $"{declaration.Source}\noutput {i}: {output[i]}, reference {expected[i]}");
            }
            GradientCheck.Run(net, declaration.InputShape, batch: 2, declaration.Source);
        }
        Assert.Equal(10, kinds.Count);
    }

    private static Declaration RandomDeclaration(Random random, string name)
    {
        int[] inputShape = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(1, 6)).ToArray();
        var shape = inputShape.ToList();
        var text = new StringBuilder($"[Network({string.Join(", ", inputShape)})]");
        int layers = random.Next(1, 7);
        for (int i = 0; i < layers; i++)
        {
            int rank = shape.Count + 1;
            switch (random.Next(10))
            {
                case 0:
                {
                    int start = random.Next(1, rank), end = random.Next(start, rank);
                    text.Append($"[Flatten({Dim(random, start, rank)}, {Dim(random, end, rank)})]");
                    int merged = shape.Skip(start - 1).Take(end - start + 1).Aggregate(1, (a, b) => a * b);
                    shape = shape.Take(start - 1).Append(merged).Concat(shape.Skip(end)).ToList();
                    break;
                }
                case 1:
                {
                    int outFeatures = random.Next(1, 10);
                    string bias = random.Next(3) == 0 ? ", Bias = false" : "";
                    text.Append(random.Next(2) == 0 ? $"[Linear({outFeatures}{bias})]" : $"[Linear({shape[^1]}, {outFeatures}{bias})]");
                    shape[^1] = outFeatures;
                    break;
                }
                case 2: text.Append("[ReLU]"); break;
                case 3: text.Append($"[LeakyReLU({(random.NextDouble() * 0.5).ToString("0.###", CultureInfo.InvariantCulture)})]"); break;
                case 4: text.Append("[Sigmoid]"); break;
                case 5: text.Append("[Tanh]"); break;
                case 6: text.Append(random.Next(2) == 0 ? "[GELU]" : "[GELU(Approximate = \"tanh\")]"); break;
                case 7: text.Append($"[Softmax({Dim(random, random.Next(1, rank), rank)})]"); break;
                case 8: text.Append($"[Dropout({(random.NextDouble() * 0.9).ToString("0.##", CultureInfo.InvariantCulture)})]"); break;
                default: text.Append("[Identity]"); break;
            }
        }
        text.Append($" public partial class {name};");
        return new Declaration(name, inputShape, text.ToString());
    }

    /// <summary>A dimension written either counting from the front or, negative, from the back.</summary>
    private static int Dim(Random random, int dim, int rank) => random.Next(2) == 0 ? dim : dim - rank;
}
