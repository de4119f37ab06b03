using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Writes the generated half of a network class: constants, the constructor that lays out the arenas,
/// Forward as a straight list of layer steps and Backward as the same list reversed, each buffer with its shape.
/// </summary>
internal static class NetworkEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string Kernels = "global::StaticNet.Kernels";

    public static string Emit(NetworkModel model)
    {
        var plan = new BufferPlan(model);
        return GeneratedFile.Write(model.Namespace, model.ContainingTypes, $"partial class {model.ClassName} : global::StaticNet.Network", w =>
        {
            EmitConstants(w, model, plan);
            EmitConstructor(w, model, plan);
            w.Line();
            EmitForward(w, model, plan);
            w.Line();
            EmitBackward(w, model, plan);
        });
    }

    private static void EmitConstants(IndentedWriter w, NetworkModel model, BufferPlan plan)
    {
        EquatableArray<int> output = model.Layers[model.Layers.Count - 1].OutputShape;
        w.Line($"/// <summary>Floats in one input sample, of shape {Shapes.Plain(model.InputShape)}.</summary>");
        w.Line($"public const int InputSize = {Int(Shapes.Size(model.InputShape))};");
        w.Line();
        w.Line($"/// <summary>Floats in one output sample, of shape {Shapes.Plain(output)}.</summary>");
        w.Line($"public const int OutputSize = {Int(Shapes.Size(output))};");
        w.Line();
        w.Line("/// <summary>Trainable floats in all parameters together.</summary>");
        w.Line($"public const int ParameterCount = {Int(plan.ParameterCount)};");
        w.Line();
        w.Line("// Floats per sample of saved activations (the input and every layer output that is not a view) and of dropout masks.");
        w.Line($"private const int ActivationsPerSample = {Int(plan.ActivationsPerSample)};");
        w.Line($"private const int MasksPerSample = {Int(plan.MasksPerSample)};");
        w.Line();
        w.Line($"/// <summary>The shape of one input sample, {Shapes.Plain(model.InputShape)}.</summary>");
        w.Line($"public static global::System.ReadOnlySpan<int> InputShape => new int[] {{ {string.Join(", ", model.InputShape.Select(Int))} }};");
        w.Line();
        w.Line($"/// <summary>The shape of one output sample, {Shapes.Plain(output)}.</summary>");
        w.Line($"public static global::System.ReadOnlySpan<int> OutputShape => new int[] {{ {string.Join(", ", output.Select(Int))} }};");
        w.Line();
        foreach (LayerModel layer in model.Layers)
        {
            w.Line($"private readonly global::StaticNet.{layer.Kind} {Field(layer)};");
        }
        foreach (LayerModel layer in model.Layers.Where(l => l.Kind == LayerKind.Dropout))
        {
            w.Line($"private bool {MaskFlag(layer)};");
        }
        w.Line();
    }

    private static void EmitConstructor(IndentedWriter w, NetworkModel model, BufferPlan plan)
    {
        w.Line("/// <summary>");
        w.Line("/// Allocates parameters, gradients and activations for batches of up to <paramref name=\"maxBatch\"/> samples,");
        w.Line("/// then initialises the parameters as PyTorch does by default, deterministically from <paramref name=\"seed\"/>.");
        w.Line("/// </summary>");
        w.Open($"public {model.ClassName}(int maxBatch, ulong seed = 0)",
            "    : base(maxBatch, InputSize, OutputSize, ParameterCount, ActivationsPerSample, MasksPerSample, seed)");
        foreach (LayerModel layer in model.Layers)
        {
            w.Line($"{Field(layer)} = {Construct(layer, plan)};");
        }
        foreach (LayerModel layer in model.Layers)
        {
            w.Line($"AddLayer(\"{layer.Name}\", {Field(layer)});");
        }
        w.Line("ResetParameters();");
        w.Close();
    }

    private static string Construct(LayerModel layer, BufferPlan plan) => layer.Kind switch
    {
        LayerKind.Flatten => $"new global::StaticNet.Flatten({Int(layer.A)}, {Int(layer.B)})",
        LayerKind.Linear => $"new global::StaticNet.Linear({Int(layer.A)}, {Int(layer.B)}, " +
                            $"CreateParameter({Int(plan.WeightOffset[layer.Index])}, {Int(layer.B)}, {Int(layer.A)}), " +
                            (layer.Bias ? $"CreateParameter({Int(plan.BiasOffset[layer.Index])}, {Int(layer.B)}))" : "null)"),
        LayerKind.LeakyReLU => $"new global::StaticNet.LeakyReLU({Real(layer.Real)})",
        LayerKind.Dropout => $"new global::StaticNet.Dropout({Real(layer.Real)})",
        LayerKind.Softmax => $"new global::StaticNet.Softmax({Int(layer.A)})",
        LayerKind.GELU => $"new global::StaticNet.GELU({(layer.TanhApproximation ? "\"tanh\"" : "\"none\"")})",
        _ => $"new global::StaticNet.{layer.Kind}()",
    };

    private static void EmitForward(IndentedWriter w, NetworkModel model, BufferPlan plan)
    {
        w.Line("/// <inheritdoc/>");
        w.Open($"public override void Forward(global::System.ReadOnlySpan<float> input, {Span} output)");
        w.Line("int batch = BeginForward(input.Length, output.Length);");
        w.Line("int n = MaxBatch;");
        w.Line($"{Span} a = Activations;");
        w.Line($"{Span} p = ParameterArena;");
        if (plan.MasksPerSample > 0) w.Line($"{Span} m = Masks;");
        w.Line();
        w.Line($"// x: {Shapes.Batched(model.InputShape)}, the input");
        w.Line($"{Span} x = a.Slice(0, batch * {Int(Shapes.Size(model.InputShape))});");
        w.Line("input.CopyTo(x);");
        foreach (LayerModel layer in model.Layers)
        {
            string h = Out(layer), x = In(layer);
            w.Line();
            w.Line($"// {Describe(layer)}: {h} {Shapes.Batched(layer.OutputShape)}{(layer.IsView ? ", a view of " + x : "")}");
            if (layer.IsView)
            {
                w.Line($"{Span} {h} = {x};");
                continue;
            }
            w.Line($"{Span} {h} = a.Slice({Scaled(plan.OutputOffset[layer.Index])}, batch * {Int(layer.OutputSize)});");
            switch (layer.Kind)
            {
                case LayerKind.Linear:
                    w.Line($"{Kernels}.LinearForward({h}, {x}, {Weight("p", layer, plan)}, {Bias("p", layer, plan)}, {Rows(layer)}, {Int(layer.A)}, {Int(layer.B)});");
                    break;
                case LayerKind.ReLU:
                    w.Line($"{Kernels}.ReluForward({h}, {x});");
                    break;
                case LayerKind.LeakyReLU:
                    w.Line($"{Kernels}.LeakyReluForward({h}, {x}, {Real(layer.Real)});");
                    break;
                case LayerKind.Sigmoid:
                    w.Line($"{Kernels}.SigmoidForward({h}, {x});");
                    break;
                case LayerKind.Tanh:
                    w.Line($"{Kernels}.TanhForward({h}, {x});");
                    break;
                case LayerKind.GELU:
                    w.Line($"{Kernels}.{(layer.TanhApproximation ? "GeluTanhForward" : "GeluForward")}({h}, {x});");
                    break;
                case LayerKind.Softmax:
                    w.Line($"{Kernels}.SoftmaxForward({h}, {x}, {SoftmaxSizes(layer)});");
                    break;
                case LayerKind.Dropout:
                    w.Line($"{MaskFlag(layer)} = {Field(layer)}.Training && {Field(layer)}.P > 0;");
                    w.Line($"if ({MaskFlag(layer)}) {Kernels}.DropoutForward({h}, {Mask(layer, plan)}, {x}, {Real(layer.Real)}, Generator);");
                    w.Line($"else {x}.CopyTo({h});");
                    break;
            }
        }
        w.Line();
        w.Line($"{Out(model.Layers[model.Layers.Count - 1])}.CopyTo(output);");
        w.Close();
    }

    private static void EmitBackward(IndentedWriter w, NetworkModel model, BufferPlan plan)
    {
        w.Line("/// <inheritdoc/>");
        w.Open($"protected override void BackwardCore(int batch, global::System.ReadOnlySpan<float> outputGrad, {Span} inputGrad)");
        w.Line("int n = MaxBatch;");
        w.Line("bool needInputGrad = !inputGrad.IsEmpty;");
        w.Line($"{Span} a = Activations;");
        w.Line($"{Span} g = ActivationGrads;");
        w.Line($"{Span} p = ParameterArena;");
        w.Line($"{Span} dp = GradientArena;");
        if (plan.MasksPerSample > 0) w.Line($"{Span} m = Masks;");
        w.Line();
        w.Line($"// x, dx: {Shapes.Batched(model.InputShape)}");
        w.Line($"{Span} x = a.Slice(0, batch * {Int(Shapes.Size(model.InputShape))});");
        w.Line($"{Span} dx = g.Slice(0, batch * {Int(Shapes.Size(model.InputShape))});");
        foreach (LayerModel layer in model.Layers)
        {
            string h = Out(layer);
            w.Line($"// {h}, d{h}: {Shapes.Batched(layer.OutputShape)}");
            if (layer.IsView)
            {
                w.Line($"{Span} {h} = {In(layer)};");
                w.Line($"{Span} d{h} = d{In(layer)};");
            }
            else
            {
                string offset = $"{Scaled(plan.OutputOffset[layer.Index])}, batch * {Int(layer.OutputSize)}";
                w.Line($"{Span} {h} = a.Slice({offset});");
                w.Line($"{Span} d{h} = g.Slice({offset});");
            }
        }
        w.Line();
        w.Line($"outputGrad.CopyTo(d{Out(model.Layers[model.Layers.Count - 1])});");
        for (int i = model.Layers.Count - 1; i >= 0; i--)
        {
            LayerModel layer = model.Layers[i];
            string h = Out(layer), x = In(layer), dh = "d" + h, dx = "d" + x;
            w.Line();
            w.Line($"// {Describe(layer)}: {dx} {Shapes.Batched(layer.InputShape)} from {dh}");
            if (layer.IsView)
            {
                w.Line($"// a view: {dx} is {dh}");
                continue;
            }
            // Layers before the first one with parameters matter only for the input gradient.
            bool onlyForInput = plan.FirstParameterLayer < 0 || i < plan.FirstParameterLayer;
            if (onlyForInput) w.Open("if (needInputGrad)");
            switch (layer.Kind)
            {
                case LayerKind.Linear:
                    string target = i == plan.FirstParameterLayer ? $"needInputGrad ? {dx} : default" : dx;
                    w.Line($"{Kernels}.LinearBackward({target}, {Weight("dp", layer, plan)}, {Bias("dp", layer, plan)}, {dh}, {x}, {Weight("p", layer, plan)}, {Rows(layer)}, {Int(layer.A)}, {Int(layer.B)});");
                    break;
                case LayerKind.ReLU:
                    w.Line($"{Kernels}.ReluBackward({dx}, {dh}, {h});");
                    break;
                case LayerKind.LeakyReLU:
                    w.Line($"{Kernels}.LeakyReluBackward({dx}, {dh}, {x}, {Real(layer.Real)});");
                    break;
                case LayerKind.Sigmoid:
                    w.Line($"{Kernels}.SigmoidBackward({dx}, {dh}, {h});");
                    break;
                case LayerKind.Tanh:
                    w.Line($"{Kernels}.TanhBackward({dx}, {dh}, {h});");
                    break;
                case LayerKind.GELU:
                    w.Line($"{Kernels}.{(layer.TanhApproximation ? "GeluTanhBackward" : "GeluBackward")}({dx}, {dh}, {x});");
                    break;
                case LayerKind.Softmax:
                    w.Line($"{Kernels}.SoftmaxBackward({dx}, {dh}, {h}, {SoftmaxSizes(layer)});");
                    break;
                case LayerKind.Dropout:
                    w.Line($"if ({MaskFlag(layer)}) {Kernels}.DropoutBackward({dx}, {dh}, {Mask(layer, plan)});");
                    w.Line($"else {dh}.CopyTo({dx});");
                    break;
            }
            if (onlyForInput) w.Close();
        }
        w.Line();
        w.Line("if (needInputGrad) dx.CopyTo(inputGrad);");
        w.Close();
    }

    private static string Describe(LayerModel layer)
    {
        string name = layer.Name == Int(layer.Index) ? "" : $" '{layer.Name}'";
        string arguments = layer.Kind switch
        {
            LayerKind.Flatten => $"(start_dim={Int(layer.A)}, end_dim={Int(layer.B)})",
            LayerKind.Linear => $"({Int(layer.A)} -> {Int(layer.B)}{(layer.Bias ? "" : ", bias=False")})",
            LayerKind.LeakyReLU => $"(negative_slope={Number(layer.Real)})",
            LayerKind.GELU => layer.TanhApproximation ? "(approximate='tanh')" : "",
            LayerKind.Softmax => $"(dim={Int(layer.A)})",
            LayerKind.Dropout => $"(p={Number(layer.Real)})",
            _ => "",
        };
        return $"{Int(layer.Index)}{name} {layer.Kind}{arguments}";
    }

    private static string In(LayerModel layer) => layer.Index == 0 ? "x" : "h" + Int(layer.Index - 1);

    private static string Out(LayerModel layer) => "h" + Int(layer.Index);

    private static string Field(LayerModel layer) => "_layer" + Int(layer.Index);

    private static string MaskFlag(LayerModel layer) => "_dropout" + Int(layer.Index) + "Applied";

    private static string Weight(string arena, LayerModel layer, BufferPlan plan) =>
        $"{arena}.Slice({Int(plan.WeightOffset[layer.Index])}, {Int(layer.A * layer.B)})";

    private static string Bias(string arena, LayerModel layer, BufferPlan plan) =>
        layer.Bias ? $"{arena}.Slice({Int(plan.BiasOffset[layer.Index])}, {Int(layer.B)})" : "default";

    private static string Mask(LayerModel layer, BufferPlan plan) =>
        $"m.Slice({Scaled(plan.MaskOffset[layer.Index])}, batch * {Int(layer.OutputSize)})";

    /// <summary>Linear acts on the last dimension, so every leading dimension of a sample adds rows.</summary>
    private static string Rows(LayerModel layer) => PerBatch(layer.InputSize / layer.A);

    /// <summary>Softmax over one dimension: (outer, dim, inner) sizes of the batched tensor around that dimension.</summary>
    private static string SoftmaxSizes(LayerModel layer)
    {
        IReadOnlyList<int> shape = layer.InputShape;
        int dim = (layer.A < 0 ? layer.A + shape.Count + 1 : layer.A) - 1;
        int outer = Shapes.Size(shape.Take(dim).ToList());
        int inner = Shapes.Size(shape.Skip(dim + 1).ToList());
        return $"{PerBatch(outer)}, {Int(shape[dim])}, {Int(inner)}";
    }

    private static string PerBatch(int perSample) => perSample == 1 ? "batch" : $"batch * {Int(perSample)}";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Real(double value) => Number(value) + "f";

    private static string Number(double value) => ((float)value).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A per-sample offset times the largest batch, as written in a Slice call.</summary>
    private static string Scaled(int perSample) => perSample == 0 ? "0" : $"{Int(perSample)} * n";
}
