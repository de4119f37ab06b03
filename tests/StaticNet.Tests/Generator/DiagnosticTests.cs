using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace StaticNet.Tests.Generator;

/// <summary>Every diagnostic id: its message, and that it underlines exactly the marked ⟦span⟧.</summary>
public class DiagnosticTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        { "SN0001", "[Network(2)] [Linear(1)] public class ⟦Net⟧ { }",
            "'Net' must be declared partial so that the generator can add its code to it" },
        { "SN0001", "public class ⟦Outer⟧ { [Network(2)] [Linear(1)] public partial class Net; }",
            "'Outer' must be declared partial so that the generator can add its code to it" },
        { "SN0002", "[Network(2)] [Linear(1)] public partial class ⟦Net⟧<T>;",
            "'Net' cannot be a network class: it is generic" },
        { "SN0002", "public partial class Outer<T> { [Network(2)] [Linear(1)] public partial class ⟦Net⟧; }",
            "'Net' cannot be a network class: it is nested in the generic type 'Outer'" },
        { "SN0002", "[Network(2)] [Linear(1)] public partial class ⟦Net⟧ : System.Exception;",
            "'Net' cannot be a network class: it derives from 'System.Exception', but the generator makes it derive from StaticNet.Network" },
        { "SN0002", "[Network(2)] [Linear(1)] public partial class ⟦Net⟧ : object;",
            "'Net' cannot be a network class: it derives from 'object' explicitly, but the generator makes it derive from StaticNet.Network" },
        { "SN0002", "[Network(2)] [Linear(1)] public partial record ⟦Net⟧;",
            "'Net' cannot be a network class: it is a record" },
        { "SN0002", "[Network(2)] [Linear(1)] public partial class Net⟦(int size)⟧;",
            "'Net' cannot be a network class: it has a primary constructor, and the generated constructors (maxBatch, seed) could not call it" },
        { "SN0032", "[Network(4)] [Linear(4)] [Linear(4)] public partial class B0; " + string.Concat(Enumerable.Range(1, 40).Select(i => $"[Network(4)] [Block(typeof(B{i - 1}))] [Block(typeof(B{i - 1}))] public partial class B{i}; ")) +
            "[Network(4)] [ReLU] [⟦Block(typeof(B40))⟧] public partial class Net;",
            "The layer 1 (Block) uses 'B40', but inlining it would give more than 2,048 layers: B40 -> B39 -> B38 -> B37 -> B36 -> B35 -> B34 -> B33 -> B32 -> B31 -> B30 -> B29 -> B28 -> B27 -> B26 -> B25 -> B24 -> B23 -> B22 -> B21 -> B20 -> B19 -> B18 -> B17 -> B16 -> B15 -> B14 -> B13 -> B12 -> B11 -> B10, which alone would have 4,094 layers" },
        { "SN0032", "[Network(4)] " + string.Concat(Enumerable.Repeat("[Linear(4)] ", 1100)) + "public partial class Half; [Network(4)] [Block(typeof(Half))] [ReLU] [⟦Block(typeof(Half), Name = \"second\")⟧] public partial class Net;",
            "The layer 2 'second' (Block) uses 'Half', but inlining it would give more than 2,048 layers: 'Net' would have 2,203 layers with the layers before it" },
        { "SN0033", "[Network(4)] [Linear(3)] public partial class Net; [⟦ReLU⟧] public partial class Net;",
            "'Net' has layer attributes on more than one partial declaration (Declarations.cs:2 and Declarations.cs:2), so their order would depend on file names: put all its layers on one declaration" },
        { "SN0003", "[⟦Network(null)⟧] [Linear(1)] public partial class Net;",
            "Network 'Net' declares no input shape: give the per-sample shape, for example [Network(1, 28, 28)]" },
        { "SN0003", "[⟦Network()⟧] [Linear(1)] public partial class Net;",
            "Network 'Net' declares no input shape: give the per-sample shape, for example [Network(1, 28, 28)]" },
        { "SN0004", "[Network(3, ⟦0⟧)] [Linear(1)] public partial class Net;",
            "The input dimension 1 of network 'Net' must be positive, but it is 0" },
        { "SN0004", "[Network(3)] [ReLU] [Linear(⟦-4⟧)] public partial class Net;",
            "The out_features of layer 1 (Linear) must be positive, but it is -4" },
        { "SN0005", "[⟦Network(3)⟧] public partial class Net;",
            "Network 'Net' has no layers: add layer attributes such as [Linear(10)] after [Network(...)]" },
        { "SN0006", "[Network(1, 28, 28)] [Flatten] [Linear(256)] [ReLU] [Linear(⟦128⟧, 10, Name = \"head\")] public partial class Net;",
            "The layer 3 'head' (Linear) expects in_features 128, but its input has shape [B, 256] (last dimension 256)" },
        { "SN0007", "[Network(3, 4)] [Flatten(⟦3⟧)] [Linear(1)] public partial class Net;",
            "The layer 0 (Flatten) has start_dim 3, which is out of range for its input of shape [B, 3, 4]: expected 1 to 2 or -2 to -1 (dimension 0 is the batch)" },
        { "SN0007", "[Network(5)] [Linear(4)] [Softmax(⟦0⟧)] public partial class Net;",
            "The layer 1 (Softmax) has dim 0, which is out of range for its input of shape [B, 4]: expected 1 to 1 or -1 to -1 (dimension 0 is the batch)" },
        { "SN0008", "[Network(2, 3, 4)] [⟦Flatten(3, 2)⟧] [Linear(1)] public partial class Net;",
            "The layer 0 (Flatten) has start_dim 3 after end_dim 2 for its input of shape [B, 2, 3, 4]" },
        { "SN0009", "[Network(4)] [Linear(4)] [Dropout(⟦1.5⟧)] public partial class Net;",
            "The layer 1 (Dropout) has p = 1.5, but p must be from 0 to 1" },
        { "SN0010", "[⟦Linear(3)⟧] public partial class Net;",
            "[Linear] on 'Net' has no effect: the class has no [Network(...)] attribute giving the input shape" },
        { "SN0011", "[Network(4)] [Linear(3)] [Linear(3, ⟦Name = \"0\"⟧)] public partial class Net;",
            "The layer 1 '0' (Linear) is named '0', which the layer 0 (Linear) already uses; layer names must be unique" },
        { "SN0012", "[Network(4)] [Linear(3, ⟦Name = \"a.b\"⟧)] public partial class Net;",
            "Layer 0 is named \"a.b\", but a layer name must be non-empty and must not contain '.'" },
        { "SN0013", "[Network(4)] [LeakyReLU(⟦double.NaN⟧)] public partial class Net;",
            "The layer 0 (LeakyReLU) has an invalid argument: negative_slope must be finite, but it is NaN" },
        { "SN0013", "[Network(4)] [GELU(⟦Approximate = \"fast\"⟧)] public partial class Net;",
            "The layer 0 (GELU) has an invalid argument: approximate must be \"none\" or \"tanh\", but it is \"fast\"" },
        { "SN0015", "[Network(2)] [Linear(1)] [Module] public partial class ⟦Net⟧;",
            "'Net' has both [Module] and [Network]: a network already is a module; keep one of them" },
        { "SN0016", "[Module] public partial class Net { public ModuleList<Module> Heads = new(); public ModuleList<Module> ⟦_heads⟧ = new(); }",
            "The members 'Heads' and '_heads' of module 'Net' would both be named 'heads' in state_dict keys; rename one" },
        { "SN0017", "public class Plain { } [Network(2)] [⟦Block(typeof(Plain))⟧] public partial class Net;",
            "The layer 0 (Block) uses 'Plain', which is not a [Network] class" },
        { "SN0018", "[Network(2)] [Block(typeof(B))] public partial class A; [Network(2)] [⟦Block(typeof(A))⟧] public partial class B; [Network(2)] [Linear(2)] [Residual(typeof(B))] public partial class Net;",
            "The layer 0 (Block) uses 'A', which makes a network contain itself: B -> A -> B" },
        { "SN0019", "[Network(2)] [Linear(-1)] public partial class Bad; [Network(2)] [⟦Block(typeof(Bad))⟧] public partial class Net;",
            "The layer 0 (Block) uses 'Bad', whose declaration has errors of its own" },
        { "SN0020", "[Network(3)] [Linear(2)] public partial class Enc; [Network(4)] [Block(⟦typeof(Enc)⟧)] public partial class Net;",
            "The layer 0 (Block) uses 'Enc', which takes input of shape [B, 3], but the shape that arrives is [B, 4]" },
        { "SN0021", "[Network(4)] [Linear(2)] public partial class Down; [Network(4)] [Residual(⟦typeof(Down)⟧)] public partial class Net;",
            "The layer 0 (Residual) uses 'Down' in a residual connection, but it maps [B, 4] to [B, 2]: x + block(x) needs both the same" },
        { "SN0022", "[Network(6)] [Linear(8)] [BatchNorm1d(⟦16⟧)] public partial class Net;",
            "The layer 1 (BatchNorm1d) has num_features 16, but the shape that arrives is [B, 8]: expected 8 (its channels)" },
        { "SN0022", "[Network(3, 4, 6)] [⟦LayerNorm(4, 5)⟧] public partial class Net;",
            "The layer 0 (LayerNorm) has normalized_shape [4, 5], but the shape that arrives is [B, 3, 4, 6]: expected its last 2 dimensions, [4, 6]" },
        { "SN0022", "[Network(6)] [⟦LayerNorm(2, 6)⟧] public partial class Net;",
            "The layer 0 (LayerNorm) has normalized_shape [2, 6], but the shape that arrives is [B, 6]: expected at most its 1 dimension" },
        { "SN0023", "[Network(2, 3, 3)] [BatchNorm2d(⟦Eps = 0⟧)] public partial class Net;",
            "The layer 0 (BatchNorm2d) has eps 0, but eps must be positive and finite" },
        { "SN0023", "[Network(6)] [LayerNorm(6, ⟦Eps = double.PositiveInfinity⟧)] public partial class Net;",
            "The layer 0 (LayerNorm) has eps Infinity, but eps must be positive and finite" },
        { "SN0024", "[Network(6)] [BatchNorm1d(⟦Momentum = 1.5⟧)] public partial class Net;",
            "The layer 0 (BatchNorm1d) has momentum 1.5, but momentum must be from 0 to 1 (or null, for a cumulative moving average)" },
        { "SN0013", "[Network(6)] [BatchNorm1d(⟦Momentum = \"fast\"⟧)] public partial class Net;",
            "The layer 0 (BatchNorm1d) has an invalid argument: momentum must be a number or null, but it is \"fast\"" },
        { "SN0013", "[Network(6)] [⟦LayerNorm⟧] public partial class Net;",
            "The layer 0 (LayerNorm) has an invalid argument: normalized_shape must name at least one dimension, such as [LayerNorm(256)]" },
        { "SN0025", "[Network(2, 3, 4)] [⟦BatchNorm1d⟧] public partial class Net;",
            "The layer 0 (BatchNorm1d) takes input of shape [C] or [C, L] per sample, but the shape that arrives is [B, 2, 3, 4]" },
        { "SN0025", "[Network(6)] [Linear(4)] [⟦BatchNorm2d⟧] public partial class Net;",
            "The layer 1 (BatchNorm2d) takes input of shape [C, H, W] per sample, but the shape that arrives is [B, 4]" },
        { "SN0004", "[Network(6)] [BatchNorm1d(⟦-2⟧)] public partial class Net;",
            "The num_features of layer 0 (BatchNorm1d) must be positive, but it is -2" },
        { "SN0026", "[Network(1, 4, 4)] [⟦Conv2d(2, KernelSize = 5)⟧] public partial class Net;",
            "The layer 0 (Conv2d) has a kernel window of 5 x 5 (dilated), but its padded input is 4 x 4: the output would have no positions" },
        { "SN0026", "[Network(1, 4, 4)] [⟦MaxPool2d(3, Dilation = 2)⟧] public partial class Net;",
            "The layer 0 (MaxPool2d) has a pooling window of 5 x 5 (dilated), but its padded input is 4 x 4: the output would have no positions" },
        { "SN0027", "[Network(3, 8, 8)] [Conv2d(4, KernelSize = 3, ⟦Groups = 2⟧)] public partial class Net;",
            "The layer 0 (Conv2d) has groups 2, but in_channels 3 and out_channels 4 must both be divisible by it" },
        { "SN0028", "[Network(1, 8, 8)] [MaxPool2d(2, ⟦Padding = 2⟧)] public partial class Net;",
            "The layer 0 (MaxPool2d) has padding 2, but padding must be at most half the (dilated) window, 1" },
        { "SN0029", "[Network(1, 8, 8)] [Conv2d(2, KernelSize = 3, Stride = 2, ⟦Padding = \"same\"⟧)] public partial class Net;",
            "The layer 0 (Conv2d) has padding \"same\" with stride 2, but \"same\" padding needs stride 1 (as in PyTorch)" },
        { "SN0030", "[Network(3, 8, 8)] [Conv2d(⟦1⟧, 4, KernelSize = 3)] public partial class Net;",
            "The layer 0 (Conv2d) expects in_channels 1, but its input has shape [B, 3, 8, 8] (3 channels)" },
        { "SN0031", "[Network(4)] [Linear(3)] public partial class Down; [Network(4)] [Linear(2)] public partial class Proj; [Network(4)] [Residual(typeof(Down), ⟦Shortcut = typeof(Proj)⟧)] public partial class Net;",
            "The layer 0 (Residual) uses 'Proj' as the shortcut of 'Down', but it maps [B, 4] to [B, 2] and the block maps it to [B, 3]: the sum needs both the same" },
        { "SN0025", "[Network(64)] [⟦Conv2d(4, KernelSize = 3)⟧] public partial class Net;",
            "The layer 0 (Conv2d) takes input of shape [C, H, W] per sample, but the shape that arrives is [B, 64]" },
        { "SN0004", "[Network(1, 8, 8)] [⟦Conv2d(4)⟧] public partial class Net;",
            "The kernel_size of layer 0 (Conv2d) must be positive, but it is 0" },
        { "SN0004", "[Network(1, 8, 8)] [Conv2d(4, KernelSize = 3, ⟦Stride = 0⟧)] public partial class Net;",
            "The stride of layer 0 (Conv2d) must be positive, but it is 0" },
        { "SN0013", "[Network(1, 8, 8)] [Conv2d(4, KernelSize = 3, ⟦Padding = -1⟧)] public partial class Net;",
            "The layer 0 (Conv2d) has an invalid argument: padding must not be negative, but it is -1" },
        { "SN0013", "[Network(1, 8, 8)] [Conv2d(4, KernelSize = 3, ⟦Padding = \"full\"⟧)] public partial class Net;",
            "The layer 0 (Conv2d) has an invalid argument: padding must be a number, \"same\" or \"valid\", but it is \"full\"" },
        { "SN0025", "[Network(1, 8, 8)] [⟦Conv1d(4, KernelSize = 3)⟧] public partial class Net;",
            "The layer 0 (Conv1d) takes input of shape [C, L] per sample, but the shape that arrives is [B, 1, 8, 8]" },
        { "SN0025", "[Network(16)] [⟦MaxPool1d(2)⟧] public partial class Net;",
            "The layer 0 (MaxPool1d) takes input of shape [C, L] per sample, but the shape that arrives is [B, 16]" },
        { "SN0026", "[Network(2, 6)] [⟦Conv1d(3, KernelSize = 4, Dilation = 2)⟧] public partial class Net;",
            "The layer 0 (Conv1d) has a kernel window of 7 (dilated), but its padded input is 6: the output would have no positions" },
        { "SN0026", "[Network(2, 3)] [⟦AvgPool1d(4)⟧] public partial class Net;",
            "The layer 0 (AvgPool1d) has a pooling window of 4 (dilated), but its padded input is 3: the output would have no positions" },
        { "SN0027", "[Network(3, 8)] [Conv1d(6, KernelSize = 3, ⟦Groups = 2⟧)] public partial class Net;",
            "The layer 0 (Conv1d) has groups 2, but in_channels 3 and out_channels 6 must both be divisible by it" },
        { "SN0028", "[Network(2, 8)] [AvgPool1d(3, ⟦Padding = 2⟧)] public partial class Net;",
            "The layer 0 (AvgPool1d) has padding 2, but padding must be at most half the (dilated) window, 1" },
        { "SN0029", "[Network(2, 8)] [Conv1d(2, KernelSize = 3, Stride = 2, ⟦Padding = \"same\"⟧)] public partial class Net;",
            "The layer 0 (Conv1d) has padding \"same\" with stride 2, but \"same\" padding needs stride 1 (as in PyTorch)" },
        { "SN0030", "[Network(3, 8)] [Conv1d(⟦2⟧, 4, KernelSize = 3)] public partial class Net;",
            "The layer 0 (Conv1d) expects in_channels 2, but its input has shape [B, 3, 8] (3 channels)" },
        { "SN0004", "[Network(2, 8)] [⟦Conv1d(4)⟧] public partial class Net;",
            "The kernel_size of layer 0 (Conv1d) must be positive, but it is 0" },
        { "SN0004", "[Network(2, 8)] [MaxPool1d(⟦0⟧)] public partial class Net;",
            "The kernel_size of layer 0 (MaxPool1d) must be positive, but it is 0" },
        { "SN0025", "[Network(2, 4, 4)] [⟦AdaptiveAvgPool1d(1)⟧] public partial class Net;",
            "The layer 0 (AdaptiveAvgPool1d) takes input of shape [C, L] per sample, but the shape that arrives is [B, 2, 4, 4]" },
        { "SN0004", "[Network(2, 8)] [AdaptiveMaxPool1d(⟦0⟧)] public partial class Net;",
            "The output_size of layer 0 (AdaptiveMaxPool1d) must be positive, but it is 0" },
        { "SN0013", "[Network(2, 8)] [Conv1d(4, KernelSize = 3, ⟦Padding = -1⟧)] public partial class Net;",
            "The layer 0 (Conv1d) has an invalid argument: padding must not be negative, but it is -1" },
        { "SN0001", "[Module] public class ⟦Net⟧ { }",
            "'Net' must be declared partial so that the generator can add its code to it" },
        { "SN0014", "[⟦Network(100000, 100000)⟧] [ReLU] public partial class Net;",
            "Network 'Net': the input sample [100000, 100000] needs more than 2147483647 floats, the most one buffer can hold" },
        { "SN0014", "[Network(100000)] [⟦Linear(100000)⟧] public partial class Net;",
            "Network 'Net': layer 0 (Linear) needs more than 2147483647 floats, the most one buffer can hold" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reports_the_diagnostic_on_the_marked_span(string id, string marked, string message)
    {
        (string source, TextSpan span) = GeneratorHarness.Marked("using StaticNet;\n" + marked);
        GeneratorHarness.Run run = GeneratorHarness.Generate(source);

        // Other classes of the same source may report (or generate) on their own; the marked one must report exactly this.
        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics, d => d.Location.SourceSpan == span);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(message, diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(GeneratorHarness.FilePath, diagnostic.Location.SourceTree?.FilePath ?? diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(source.Substring(span.Start, span.Length), source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
        Assert.DoesNotContain(run.Sources, s => s.HintName.EndsWith(".Net.g.cs", StringComparison.Ordinal) || s.HintName == "Net.g.cs");
    }

    [Theory]
    [InlineData("_body", "body")]
    [InlineData("Heads", "heads")]
    [InlineData("HiddenLayers", "hidden_layers")]
    [InlineData("MLPHead", "mlp_head")]
    [InlineData("layer2Norm", "layer2_norm")]
    [InlineData("snake_case", "snake_case")]
    public void Module_members_get_pytorch_style_names(string member, string name) =>
        Assert.Equal(name, StaticNet.Generator.Parsing.ModuleParser.StateName(member));

    [Fact]
    public void Reports_every_problem_of_a_declaration_at_once()
    {
        const string source = "using StaticNet;\n[Network(4)] [Linear(5, 3)] [Dropout(2)] [Linear(3, Name = \"\")] public partial class Net;";
        GeneratorHarness.Run run = GeneratorHarness.Generate(source);
        Assert.Equal(["SN0006", "SN0009", "SN0012"], run.GeneratorDiagnostics.Select(d => d.Id).OrderBy(i => i));
    }

    [Fact]
    public void Stays_silent_when_the_compiler_already_reports_an_attribute_error()
    {
        const string source = "using StaticNet;\n[Network(4)] [Linear(\"wide\")] public partial class Net;";
        GeneratorHarness.Run run = GeneratorHarness.Generate(source);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.Sources);
        Assert.Contains(run.Errors, d => d.Id == "CS1503");
    }
}
