using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>
/// The generated sources, byte for byte, against the golden files in Snapshots/&lt;case&gt;/, and the set of files too.
/// After an intended change to the output, run the tests once with STATICNET_ACCEPT_SNAPSHOTS=1 to rewrite them,
/// then review the diff.
/// </summary>
public class SnapshotTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "FashionMlp", """
            using StaticNet;

            namespace MyApp;

            [Network(1, 28, 28)]
            [Flatten]
            [Linear(256)]
            [ReLU]
            [Dropout(0.2)]
            [Linear(256, 10, Name = "head")]
            public partial class FashionMlp;
            """ },
        { "EveryLayer", """
            using StaticNet;

            namespace Samples.Nested
            {
                public partial class Container
                {
                    [Network(2, 3, 4)]
                    [Flatten(2)]
                    [Linear(12, 8, Bias = false)]
                    [LeakyReLU(0.2)]
                    [Sigmoid]
                    [Tanh(Name = "squash")]
                    [GELU]
                    [GELU(Approximate = "tanh")]
                    [SiLU]
                    [Dropout(0.1)]
                    [Identity]
                    [Linear(5)]
                    [Softmax]
                    internal partial class EveryLayer;
                }
            }
            """ },
        { "ModuleClass", """
            using StaticNet;

            namespace Models;

            [Network(4)] [Linear(2)] public partial class Head;

            [Module]
            public partial class TwoHeads
            {
                private readonly Head _left = new(1);
                public Head Right { get; } = new(1);
                public ModuleList<Head> ExtraHeads { get; } = new();
                public int Count { get; }
            }
            """ },
        { "Nested", """
            using StaticNet;

            namespace Models;

            [Network(6)] [Linear(5)] [Tanh] public partial class Encoder;
            [Network(5)] [Linear(5)] [GELU] [Dropout(0.1)] [Linear(5)] public partial class Square;

            [Network(6)]
            [Block(typeof(Encoder))]
            [ReLU]
            [Residual(typeof(Square), Name = "skip")]
            [Linear(2)]
            public partial class Composite;
            """ },
        { "ReluFusion", """
            using StaticNet;

            namespace Models;

            [Network(4)] [Linear(4)] [ReLU] public partial class ReluBlock;

            [Network(6)]
            [ReLU]
            [Linear(8)]
            [ReLU]
            [Linear(4)]
            [Residual(typeof(ReluBlock))]
            [ReLU]
            [Linear(2)]
            public partial class FusedRelus;
            """ },
        { "Normalization", """
            using StaticNet;

            namespace Models;

            [Network(1, 28, 28)]
            [Flatten]
            [Linear(120)]
            [BatchNorm1d]
            [Sigmoid]
            [Linear(84)]
            [BatchNorm1d(84, Momentum = null, Affine = false)]
            [LayerNorm(84, Eps = 1e-6, Bias = false)]
            [Linear(10)]
            public partial class BatchNormMlp;

            [Network(2, 4, 4)]
            [BatchNorm2d(Eps = 1e-3, Momentum = 0.2, Name = "bn")]
            [Residual(typeof(NormBlock))]
            [LayerNorm(4, 4, ElementwiseAffine = false)]
            [Flatten(2)]
            [BatchNorm1d(2, TrackRunningStats = false)]
            partial class NormStack;

            [Network(2, 4, 4)] [BatchNorm2d] public partial class NormBlock;
            """ },
        { "Convolutional", """
            using StaticNet;

            namespace Models;

            [Network(1, 28, 28)]
            [Conv2d(6, KernelSize = 5, Padding = 2)] [Sigmoid] [AvgPool2d(2, Stride = 2)]
            [Conv2d(16, KernelSize = 5)] [Sigmoid] [AvgPool2d(2, Stride = 2)]
            [Flatten] [Linear(120)] [Sigmoid] [Linear(84)] [Sigmoid] [Linear(10)]
            public partial class LeNet;

            [Network(1, 28, 28)]
            [Conv2d(6, KernelSize = 5)] [BatchNorm2d] [Sigmoid] [AvgPool2d(2, Stride = 2)]
            [Conv2d(16, KernelSize = 5)] [BatchNorm2d] [Sigmoid] [AvgPool2d(2, Stride = 2)]
            [Flatten] [Linear(120)] [BatchNorm1d] [Sigmoid] [Linear(84)] [BatchNorm1d] [Sigmoid] [Linear(10)]
            public partial class LeNetBatchNorm;

            [Network(8, 14, 14)] [Conv2d(16, KernelSize = 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm2d] [ReLU] [Conv2d(16, KernelSize = 3, Padding = 1, Bias = false)] [BatchNorm2d] public partial class Down;
            [Network(8, 14, 14)] [Conv2d(16, KernelSize = 1, Stride = 2, Bias = false)] [BatchNorm2d] public partial class Projection;

            [Network(1, 28, 28)]
            [Conv2d(8, KernelSize = 3, Padding = 1, Bias = false)] [BatchNorm2d] [ReLU] [MaxPool2d(2)]
            [Residual(typeof(Down), Shortcut = typeof(Projection))] [ReLU]
            [AdaptiveAvgPool2d(1)] [Flatten] [Linear(10)]
            public partial class ResNet;

            [Network(3, 9, 9)]
            [Conv2d(4, KernelH = 3, KernelW = 2, Padding = "same", Dilation = 2, Groups = 1)]
            [MaxPool2d(3, Stride = 2, Padding = 1, CeilMode = true)]
            [AvgPool2d(2, CountIncludePad = false, DivisorOverride = 3)]
            [AdaptiveMaxPool2d(2, 1)]
            public partial class Pools;

            [Network(2, 32)]
            [Conv1d(8, KernelSize = 5, Padding = 2, Bias = false)] [BatchNorm1d] [ReLU] [MaxPool1d(2)]
            [Conv1d(8, KernelSize = 4, Padding = "same", Groups = 8)] [AvgPool1d(3, Stride = 2, Padding = 1, CeilMode = true)]
            [Flatten] [Linear(4)]
            public partial class Signal;
            """ },
        { "ParameterFree", """
            using StaticNet;

            [Network(3)]
            [ReLU]
            [Softmax(-1)]
            partial class ParameterFree;
            """ },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Generated_source_matches_the_golden_files(string name, string source)
    {
        GeneratorHarness.Run run = GeneratorHarness.Generate(source);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.Errors);

        string directory = Path.Combine(SnapshotRoot(), name);
        bool accept = Environment.GetEnvironmentVariable("STATICNET_ACCEPT_SNAPSHOTS") == "1";
        if (accept)
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            Directory.CreateDirectory(directory);
            foreach (GeneratedSourceResult generated in run.Sources)
            {
                File.WriteAllText(Path.Combine(directory, generated.HintName), generated.SourceText.ToString());
            }
        }

        string[] expectedFiles = Directory.Exists(directory)
            ? Directory.GetFiles(directory).Select(f => Path.GetFileName(f)).OrderBy(f => f, StringComparer.Ordinal).ToArray()
            : [];
        Assert.Equal(expectedFiles, run.Sources.Select(s => s.HintName).OrderBy(f => f, StringComparer.Ordinal).ToArray());
        foreach (GeneratedSourceResult generated in run.Sources)
        {
            string expected = File.ReadAllText(Path.Combine(directory, generated.HintName));
            Assert.True(expected == generated.SourceText.ToString(),
                $"{generated.HintName} differs from its golden file; rerun with STATICNET_ACCEPT_SNAPSHOTS=1 if the change is intended.");
        }
    }

    [Fact]
    public void Output_is_deterministic()
    {
        string source = Cases.Select(row => (string)row[1]).First();
        string first = GeneratorHarness.Generate(source).Sources.Single().SourceText.ToString();
        string second = GeneratorHarness.Generate(source).Sources.Single().SourceText.ToString();
        Assert.Equal(first, second);
    }

    private static string SnapshotRoot([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(thisFile))!, "Snapshots");
}
