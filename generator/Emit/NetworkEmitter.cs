using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Writes the generated half of a network class: constants, the constructors (standalone, and as a block of another
/// network), Forward as a straight list of layer steps and Backward as the same list reversed, each buffer with its
/// shape. Nested [Block] and [Residual] networks are inlined step by step over this network's arenas.
/// </summary>
internal static class NetworkEmitter
{
    private const string Span = "global::System.Span<float>";
    private const string Kernels = "global::StaticNet.Kernels";

    public static string Emit(NetworkModel model)
    {
        List<Step> steps = Step.Flatten(model.Layers);
        var plan = new BufferPlan(steps, Shapes.Size(model.InputShape));
        return GeneratedFile.Write(model.Namespace, model.ContainingTypes, $"partial class {model.ClassName} : global::StaticNet.Network", w =>
        {
            EmitConstants(w, model, steps, plan);
            EmitConstructors(w, model, steps, plan);
            w.Line();
            EmitForward(w, model, steps, plan);
            w.Line();
            EmitBackward(w, model, steps, plan);
        });
    }

    private static void EmitConstants(IndentedWriter w, NetworkModel model, List<Step> steps, BufferPlan plan)
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
            w.Line($"private {ModuleType(layer)} {Field(layer)} = null!;");
        }
        foreach (Step step in steps.Where(IsDropout))
        {
            if (IsNestedStep(step)) w.Line($"private global::StaticNet.Dropout {DropoutField(step)} = null!;");
            w.Line($"private bool {MaskFlag(step)};");
        }
        w.Line();
    }

    private static void EmitConstructors(IndentedWriter w, NetworkModel model, List<Step> steps, BufferPlan plan)
    {
        w.Line("/// <summary>");
        w.Line("/// Allocates parameters, gradients and activations for batches of up to <paramref name=\"maxBatch\"/> samples,");
        w.Line("/// then initialises the parameters as PyTorch does by default, deterministically from <paramref name=\"seed\"/>.");
        w.Line("/// </summary>");
        w.Open($"public {model.ClassName}(int maxBatch, ulong seed = 0)",
            "    : base(maxBatch, InputSize, OutputSize, ParameterCount, ActivationsPerSample, MasksPerSample, seed)");
        w.Line("BuildLayers();");
        w.Line("ResetParameters();");
        w.Close();
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Builds this network as a block inside <paramref name=\"owner\"/>, its parameters at <paramref name=\"parameterOffset\"/>");
        w.Line("/// in the owner's arena; the owner's generated code runs its layers. Used by networks that declare it as a [Block] or [Residual].");
        w.Line("/// </summary>");
        w.Open($"public {model.ClassName}(global::StaticNet.Network owner, int parameterOffset)",
            "    : base(owner, parameterOffset, ParameterCount, InputSize, OutputSize)");
        w.Line("BuildLayers();");
        w.Close();
        w.Line();
        w.Open("private void BuildLayers()");
        var starts = steps.Select((s, i) => (s, i)).Where(t => t.s.Kind == StepKind.BlockStart && t.s.Id == Int(t.s.Layer.Index)).ToDictionary(t => t.s.Layer.Index, t => t.i);
        foreach (LayerModel layer in model.Layers)
        {
            w.Line($"{Field(layer)} = {Construct(layer, steps, plan, starts)};");
        }
        foreach (LayerModel layer in model.Layers)
        {
            w.Line($"AddLayer(\"{layer.Name}\", {Field(layer)});");
        }
        foreach (Step step in steps.Where(s => IsDropout(s) && IsNestedStep(s)))
        {
            w.Line($"{DropoutField(step)} = (global::StaticNet.Dropout){step.ModuleExpression};");
        }
        w.Close();
    }

    private static string Construct(LayerModel layer, List<Step> steps, BufferPlan plan, Dictionary<int, int> blockStarts)
    {
        int stepIndex = steps.FindIndex(s => s.Kind == StepKind.Layer && s.Id == Int(layer.Index));
        return layer.Kind switch
        {
            LayerKind.Flatten => $"new global::StaticNet.Flatten({Int(layer.A)}, {Int(layer.B)})",
            LayerKind.Linear => $"new global::StaticNet.Linear({Int(layer.A)}, {Int(layer.B)}, " +
                                $"CreateParameter({Int(plan.WeightOffset[stepIndex])}, {Int(layer.B)}, {Int(layer.A)}), " +
                                (layer.Bias ? $"CreateParameter({Int(plan.BiasOffset[stepIndex])}, {Int(layer.B)}))" : "null)"),
            LayerKind.LeakyReLU => $"new global::StaticNet.LeakyReLU({Real(layer.Real)})",
            LayerKind.Dropout => $"new global::StaticNet.Dropout({Real(layer.Real)})",
            LayerKind.Softmax => $"new global::StaticNet.Softmax({Int(layer.A)})",
            LayerKind.GELU => $"new global::StaticNet.GELU({(layer.TanhApproximation ? "\"tanh\"" : "\"none\"")})",
            LayerKind.Block => $"new {layer.TypeName}(this, {Int(plan.BlockOffset[blockStarts[layer.Index]])})",
            LayerKind.Residual => $"new global::StaticNet.Residual(new {layer.TypeName}(this, {Int(plan.BlockOffset[blockStarts[layer.Index]])}))",
            _ => $"new global::StaticNet.{layer.Kind}()",
        };
    }

    private static void EmitForward(IndentedWriter w, NetworkModel model, List<Step> steps, BufferPlan plan)
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
        w.Line("CopyInput(input, x);");
        string last = "x";
        for (int i = 0; i < steps.Count; i++)
        {
            Step step = steps[i];
            LayerModel layer = step.Layer;
            w.Line();
            if (step.Kind == StepKind.BlockStart)
            {
                w.Line($"// {Describe(step)}: {Shapes.Batched(layer.InputShape)} -> {Shapes.Batched(layer.OutputShape)}");
                continue;
            }
            string h = Out(step), x = In(steps, plan, i);
            last = h;
            if (step.Kind == StepKind.ResidualAdd)
            {
                w.Line($"// {step.Label} residual sum: {h} {Shapes.Batched(layer.OutputShape)} = {x} + {Skip(steps, step)}");
                w.Line($"{Span} {h} = a.Slice({Scaled(plan.OutputOffset[i])}, batch * {Int(layer.OutputSize)});");
                w.Line($"{Kernels}.ResidualForward({h}, {x}, {Skip(steps, step)});");
                continue;
            }
            if (LinearThenRelu(steps, plan, i))
            {
                w.Line($"// {Describe(step)}: computed with the ReLU below, which keeps only its output");
                continue;
            }
            w.Line($"// {Describe(step)}: {h} {Shapes.Batched(layer.OutputShape)}{(layer.IsView ? ", a view of " + x : IsDropout(step) ? ", " + x + " itself when inactive" : "")}");
            if (layer.IsView)
            {
                w.Line($"{Span} {h} = {x};");
                continue;
            }
            if (IsDropout(step))
            {
                // Inactive (eval mode, or p = 0) it is the identity: the next layer reads the input, nothing is copied.
                w.Line($"{MaskFlag(step)} = {DropoutField(step)}.Training && {DropoutField(step)}.P > 0;");
                w.Line($"{Span} {h} = {DropoutOutput(step, plan, i, "a", x)};");
                w.Line($"if ({MaskFlag(step)}) {Kernels}.DropoutForward({h}, {Mask(step, plan, i)}, {x}, {Real(layer.Real)}, Generator);");
                continue;
            }
            w.Line($"{Span} {h} = a.Slice({Scaled(plan.OutputOffset[i])}, batch * {Int(layer.OutputSize)});");
            switch (layer.Kind)
            {
                case LayerKind.Linear:
                    w.Line($"{Kernels}.LinearForward({h}, {x}, {Weight("p", layer, plan, i)}, {Bias("p", layer, plan, i)}, {Rows(layer)}, {Int(layer.A)}, {Int(layer.B)});");
                    break;
                case LayerKind.ReLU when i > 0 && LinearThenRelu(steps, plan, i - 1):
                    LayerModel linear = steps[i - 1].Layer;
                    w.Line($"{Kernels}.LinearReluForward({h}, {In(steps, plan, i - 1)}, {Weight("p", linear, plan, i - 1)}, {Bias("p", linear, plan, i - 1)}, " +
                        $"{Rows(linear)}, {Int(linear.A)}, {Int(linear.B)});");
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
            }
        }
        w.Line();
        w.Line($"{last}.CopyTo(output);");
        w.Close();
    }

    private static void EmitBackward(IndentedWriter w, NetworkModel model, List<Step> steps, BufferPlan plan)
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
        string last = "x";
        for (int i = 0; i < steps.Count; i++)
        {
            Step step = steps[i];
            if (step.Kind == StepKind.BlockStart) continue;
            string h = Out(step);
            last = h;
            w.Line($"// {h}, d{h}: {Shapes.Batched(step.Layer.OutputShape)}");
            if (step.Kind == StepKind.Layer && step.Layer.IsView)
            {
                w.Line($"{Span} {h} = {In(steps, plan, i)};");
                w.Line($"{Span} d{h} = d{In(steps, plan, i)};");
            }
            else if (IsDropout(step))
            {
                w.Line($"{Span} {h} = {DropoutOutput(step, plan, i, "a", In(steps, plan, i))};");
                w.Line($"{Span} d{h} = {DropoutOutput(step, plan, i, "g", "d" + In(steps, plan, i))};");
            }
            else
            {
                string offset = $"{Scaled(plan.OutputOffset[i])}, batch * {Int(step.Layer.OutputSize)}";
                w.Line($"{Span} {h} = a.Slice({offset});");
                w.Line($"{Span} d{h} = g.Slice({offset});");
            }
        }
        w.Line();
        w.Line($"outputGrad.CopyTo(d{last});");
        // A residual's skip gradient is added to its input's gradient once the block's first step has written it.
        var skipAdds = steps.Where(s => s.Kind == StepKind.ResidualAdd).ToLookup(s => s.FirstInner);
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            Step step = steps[i];
            LayerModel layer = step.Layer;
            if (step.Kind == StepKind.BlockStart) continue;
            string h = Out(step), x = In(steps, plan, i), dh = "d" + h, dx = "d" + x;
            w.Line();
            if (step.Kind == StepKind.ResidualAdd)
            {
                w.Line($"// {step.Label} residual sum: the block's output gradient is {dh}; {dh} also flows to d{Skip(steps, step)} around the block");
                w.Line($"{dh}.CopyTo({dx});");
                continue;
            }
            if (ReluThenLinear(steps, plan, i - 1))
            {
                w.Line($"// {Describe(step)}: d{In(steps, plan, i - 1)} {Shapes.Batched(layer.InputShape)} from {dh}, through the ReLU below");
            }
            else
            {
                w.Line($"// {Describe(step)}: {dx} {Shapes.Batched(layer.InputShape)} from {dh}");
            }
            if (layer.IsView)
            {
                w.Line($"// a view: {dx} is {dh}");
            }
            else if (ReluThenLinear(steps, plan, i))
            {
                w.Line($"// {dx} was written by the Linear above, through this ReLU");
            }
            else
            {
                // Steps before the first one with parameters matter only for the input gradient (unless a residual routes around them).
                bool onlyForInput = !plan.HasResidual && (plan.FirstParameterStep < 0 || i < plan.FirstParameterStep);
                if (onlyForInput) w.Open("if (needInputGrad)");
                EmitStepBackward(w, steps, step, plan, i, h, x, dh, dx);
                if (onlyForInput) w.Close();
            }
            foreach (Step residual in skipAdds[i])
            {
                w.Line($"{Kernels}.ResidualBackward(d{Skip(steps, residual)}, d{Out(residual)});");
            }
        }
        w.Line();
        w.Line("if (needInputGrad) dx.CopyTo(inputGrad);");
        w.Close();
    }

    private static void EmitStepBackward(IndentedWriter w, List<Step> steps, Step step, BufferPlan plan, int i, string h, string x, string dh, string dx)
    {
        LayerModel layer = step.Layer;
        switch (layer.Kind)
        {
            case LayerKind.Linear:
                // After a ReLU, the input gradient goes straight through it to the ReLU's own input.
                bool throughRelu = i > 0 && ReluThenLinear(steps, plan, i - 1);
                string into = throughRelu ? "d" + In(steps, plan, i - 1) : dx;
                string target = i == plan.FirstParameterStep && !plan.HasResidual ? $"needInputGrad ? {into} : default" : into;
                w.Line($"{Kernels}.{(throughRelu ? "LinearBackwardThroughRelu" : "LinearBackward")}({target}, {Weight("dp", layer, plan, i)}, {Bias("dp", layer, plan, i)}, " +
                    $"{dh}, {x}, {Weight("p", layer, plan, i)}, {Rows(layer)}, {Int(layer.A)}, {Int(layer.B)});");
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
                w.Line($"if ({MaskFlag(step)}) {Kernels}.DropoutBackward({dx}, {dh}, {Mask(step, plan, i)});");
                break;
        }
    }

    private static string Describe(Step step)
    {
        LayerModel layer = step.Layer;
        string name = step.Label == step.Id.Replace('_', '.') ? "" : $" '{step.Label}'";
        string arguments = layer.Kind switch
        {
            LayerKind.Flatten => $"(start_dim={Int(layer.A)}, end_dim={Int(layer.B)})",
            LayerKind.Linear => $"({Int(layer.A)} -> {Int(layer.B)}{(layer.Bias ? "" : ", bias=False")})",
            LayerKind.LeakyReLU => $"(negative_slope={Number(layer.Real)})",
            LayerKind.GELU => layer.TanhApproximation ? "(approximate='tanh')" : "",
            LayerKind.Softmax => $"(dim={Int(layer.A)})",
            LayerKind.Dropout => $"(p={Number(layer.Real)})",
            LayerKind.Block or LayerKind.Residual => $"({layer.TypeName})",
            _ => "",
        };
        return $"{step.Id.Replace('_', '.')}{name} {layer.Kind}{arguments}";
    }

    private static bool IsDropout(Step step) => step.Kind == StepKind.Layer && step.Layer.Kind == LayerKind.Dropout;

    /// <summary>A dropout's output (or its gradient, from arena g): its own buffer when it drops, its input when inactive.</summary>
    private static string DropoutOutput(Step step, BufferPlan plan, int i, string arena, string input) =>
        $"{MaskFlag(step)} ? {arena}.Slice({Scaled(plan.OutputOffset[i])}, batch * {Int(step.Layer.OutputSize)}) : {input}";

    /// <summary>Step i is a Linear whose output only the ReLU right after it reads: one kernel computes both, forward.</summary>
    private static bool LinearThenRelu(List<Step> steps, BufferPlan plan, int i) => Pair(steps, plan, i, LayerKind.Linear, LayerKind.ReLU);

    /// <summary>Step i is a ReLU whose output only the Linear right after it reads: the Linear's input gradient goes through it, backward.</summary>
    private static bool ReluThenLinear(List<Step> steps, BufferPlan plan, int i) => Pair(steps, plan, i, LayerKind.ReLU, LayerKind.Linear);

    /// <summary>
    /// Adjacent layer steps, the second reading the first's output, are all it takes for that output to have no other
    /// reader: a block boundary or a residual's skip (which reads the output of the step before its block starts) puts a
    /// step in between.
    /// </summary>
    private static bool Pair(List<Step> steps, BufferPlan plan, int i, LayerKind first, LayerKind second) =>
        i >= 0 && i + 1 < steps.Count && steps[i].Kind == StepKind.Layer && steps[i].Layer.Kind == first
        && steps[i + 1].Kind == StepKind.Layer && steps[i + 1].Layer.Kind == second && plan.InputStep[i + 1] == i;

    /// <summary>The buffer a step reads: the output of the step before it, or the input.</summary>
    private static string In(List<Step> steps, BufferPlan plan, int i) => plan.InputStep[i] < 0 ? "x" : Out(steps[plan.InputStep[i]]);

    private static string Skip(List<Step> steps, Step residual) => residual.Skip < 0 ? "x" : Out(steps[residual.Skip]);

    private static string Out(Step step) => "h" + step.Id;

    private static string Field(LayerModel layer) => "_layer" + Int(layer.Index);

    private static string ModuleType(LayerModel layer) => layer.Kind switch
    {
        LayerKind.Block => layer.TypeName!,
        LayerKind.Residual => "global::StaticNet.Residual",
        _ => "global::StaticNet." + layer.Kind,
    };

    /// <summary>A top-level dropout is its own layer field; one inside a block is reached once, in the constructor, and kept.</summary>
    private static string DropoutField(Step step) => IsNestedStep(step) ? "_dropout" + step.Id : step.ModuleExpression;

    private static bool IsNestedStep(Step step) => step.Id.IndexOf('_') >= 0;

    private static string MaskFlag(Step step) => "_dropout" + step.Id + "Applied";

    private static string Weight(string arena, LayerModel layer, BufferPlan plan, int i) =>
        $"{arena}.Slice({Int(plan.WeightOffset[i])}, {Int(layer.A * layer.B)})";

    private static string Bias(string arena, LayerModel layer, BufferPlan plan, int i) =>
        layer.Bias ? $"{arena}.Slice({Int(plan.BiasOffset[i])}, {Int(layer.B)})" : "default";

    private static string Mask(Step step, BufferPlan plan, int i) =>
        $"m.Slice({Scaled(plan.MaskOffset[i])}, batch * {Int(step.Layer.OutputSize)})";

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
