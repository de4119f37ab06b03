using System.Collections.Generic;
using System.Linq;
using StaticNet.Generator.Layers;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Writes the generated half of a network class: constants, the constructors (standalone, and as a block of another
/// network), Forward as a straight list of layer steps and Backward as the same list reversed, each buffer with its
/// shape. What each step computes comes from its layer's kind; nested [Block] and [Residual] networks are inlined step
/// by step over this network's arenas.
/// </summary>
internal static class NetworkEmitter
{
    private const string Span = Code.Span;

    public static string Emit(NetworkModel model)
    {
        List<Step> steps = Step.Flatten(model.Layers);
        var plan = new BufferPlan(steps, Shapes.Size(model.InputShape));
        var emitter = new Writer(model, steps, plan);
        return GeneratedFile.Write(model.Namespace, model.ContainingTypes, $"partial class {model.ClassName} : global::StaticNet.Network", w =>
        {
            emitter.Constants(w);
            emitter.Constructors(w);
            w.Line();
            emitter.Forward(w);
            w.Line();
            emitter.Backward(w);
        }, emitter.SummaryDocComment());
    }

    private sealed class Writer(NetworkModel model, List<Step> steps, BufferPlan plan)
    {
        /// <summary>One row of the model summary: a layer, or a block with its totals; Depth counts the blocks around it.</summary>
        private sealed record SummaryRow(string Name, string Type, int Depth, EquatableArray<int> OutputShape, long Parameters, long MultiplyAdds);

        private List<SummaryRow> SummaryRows()
        {
            static long MultiplyAdds(LayerModel layer) =>
                layer is NestedModel nested ? nested.Inner.Sum(MultiplyAdds) + nested.Shortcut.Sum(MultiplyAdds) : layer.Kind.MultiplyAdds(layer);
            var rows = new List<SummaryRow>();
            foreach (Step step in steps)
            {
                if (step.Kind is not (StepKind.Layer or StepKind.BlockStart)) continue;
                LayerModel layer = step.Layer;
                rows.Add(new SummaryRow(step.Label, (layer.Kind.Name + layer.Kind.Describe(layer)).Replace("global::", ""), step.Id.Count(c => c == '_'), layer.OutputShape,
                    layer.ParameterFloats, MultiplyAdds(layer)));
            }
            return rows;
        }

        /// <summary>
        /// The summary as the class's doc comment (remarks), so hovering the class in the IDE shows it: a table of the
        /// layers as the runtime's Summary() prints it, without the arenas (which depend on the batch).
        /// </summary>
        public IEnumerable<string> SummaryDocComment()
        {
            List<SummaryRow> rows = SummaryRows();
            string[][] cells = rows.Select(r => new[]
            {
                new string(' ', 2 * r.Depth) + r.Name, r.Type, Shapes.Plain(r.OutputShape), Thousands(r.Parameters), Thousands(r.MultiplyAdds),
            }).ToArray();
            string[] header = ["Layer", "Type", "Output shape", "Param #", "Mult-adds"];
            int[] widths = Enumerable.Range(0, header.Length).Select(c => cells.Select(r => r[c].Length).DefaultIfEmpty(0).Max()).Zip(header, (w, h) => System.Math.Max(w, h.Length)).ToArray();
            string Row(string[] r) => string.Join("  ", r.Select((cell, c) => c >= 3 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd();
            yield return "<remarks>";
            yield return $"<para>Input {Code.Xml(Shapes.Plain(model.InputShape))} per sample; the layers, as <c>Summary()</c> prints them (StaticNet):</para>";
            yield return "<code>";
            yield return Code.Xml(Row(header));
            foreach (string[] row in cells) yield return Code.Xml(Row(row));
            long parameters = rows.Where(r => r.Depth == 0).Sum(r => r.Parameters), macs = rows.Where(r => r.Depth == 0).Sum(r => r.MultiplyAdds);
            yield return Code.Xml($"Total: {Thousands(parameters)} parameters, {Thousands(macs)} multiply-adds per sample");
            yield return "</code>";
            yield return "</remarks>";
        }

        private static string Thousands(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>The static table of layers the runtime's Summary() formats.</summary>
        private void SummaryTable(IndentedWriter w)
        {
            w.Line("private static readonly global::StaticNet.LayerSummary[] LayerTable =");
            w.Line("[");
            foreach (SummaryRow r in SummaryRows())
            {
                w.Line($"    new({Code.String(r.Name)}, {Code.String(r.Type)}, {Code.Int(r.Depth)}, [{Code.Ints(r.OutputShape)}], {r.Parameters.ToString(System.Globalization.CultureInfo.InvariantCulture)}, " +
                       $"{r.MultiplyAdds.ToString(System.Globalization.CultureInfo.InvariantCulture)}),");
            }
            w.Line("];");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public override global::System.Collections.Generic.IReadOnlyList<global::StaticNet.LayerSummary> LayerSummaries => LayerTable;");
            w.Line();
        }

        public void Constants(IndentedWriter w)
        {
            EquatableArray<int> output = model.Layers[model.Layers.Count - 1].OutputShape;
            w.Line($"/// <summary>Floats in one input sample, of shape {Shapes.Plain(model.InputShape)}.</summary>");
            w.Line($"public const int InputSize = {Code.Int(Shapes.Size(model.InputShape))};");
            w.Line();
            w.Line($"/// <summary>Floats in one output sample, of shape {Shapes.Plain(output)}.</summary>");
            w.Line($"public const int OutputSize = {Code.Int(Shapes.Size(output))};");
            w.Line();
            w.Line("/// <summary>Floats in all parameters together (frozen ones too).</summary>");
            w.Line($"public const int ParameterCount = {Code.Int(plan.ParameterCount)};");
            w.Line();
            w.Line("// Floats of F32 buffers (running statistics); per sample of saved activations (the input and every layer output");
            w.Line("// that is not a view) and of saved tensors (dropout masks, statistics); of saved tensors whatever the batch.");
            w.Line($"private const int BufferFloats = {Code.Int(plan.BufferCount)};");
            w.Line($"private const int ActivationsPerSample = {Code.Int(plan.ActivationsPerSample)};");
            w.Line($"private const int SavedPerSample = {Code.Int(plan.SavedPerSample)};");
            w.Line($"private const int SavedFixed = {Code.Int(plan.SavedFixed)};");
            w.Line();
            w.Line($"/// <summary>The shape of one input sample, {Shapes.Plain(model.InputShape)}.</summary>");
            w.Line($"public static global::System.ReadOnlySpan<int> InputShape => new int[] {{ {Code.Ints(model.InputShape)} }};");
            w.Line();
            w.Line($"/// <summary>The shape of one output sample, {Shapes.Plain(output)}.</summary>");
            w.Line($"public static global::System.ReadOnlySpan<int> OutputShape => new int[] {{ {Code.Ints(output)} }};");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public override global::System.ReadOnlySpan<int> SampleInputShape => InputShape;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public override global::System.ReadOnlySpan<int> SampleOutputShape => OutputShape;");
            w.Line();
            SummaryTable(w);
            foreach (LayerModel layer in model.Layers)
            {
                w.Line($"private {layer.Kind.ModuleType(layer)} {Field(layer)};");
            }
            foreach (Step step in LayerSteps())
            {
                if (NeedsModuleField(step))
                {
                    w.Line($"private {step.Layer.Kind.ModuleType(step.Layer)} {StepContext.ModuleField(step)};");
                }
                foreach (string flag in step.Layer.Kind.Flags(step.Layer)) w.Line($"private bool {StepContext.StepField(step, flag)};");
                foreach (StaticField field in step.Layer.Kind.StaticFields(step.Layer))
                {
                    w.Line($"private static readonly {field.Type} {StepContext.StepField(step, field.Name)} = {field.Value};");
                }
            }
            w.Line();
        }

        public void Constructors(IndentedWriter w)
        {
            w.Line("/// <summary>");
            w.Line("/// Allocates parameters, buffers, gradients and activations for batches of up to <paramref name=\"maxBatch\"/> samples,");
            w.Line("/// then initialises the parameters as PyTorch does by default, deterministically from <paramref name=\"seed\"/>.");
            w.Line("/// </summary>");
            w.Open($"public {model.ClassName}(int maxBatch, ulong seed = 0)",
                "    : base(maxBatch, InputSize, OutputSize, ParameterCount, BufferFloats, ActivationsPerSample, SavedPerSample, SavedFixed, seed)");
            w.Line("BuildLayers();");
            w.Line("ResetParameters();");
            w.Close();
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// Builds this network as a block inside <paramref name=\"owner\"/>, its parameters and buffers at the given offsets in");
            w.Line("/// the owner's arenas; the owner's generated code runs its layers. Used by networks that declare it as a [Block] or [Residual].");
            w.Line("/// </summary>");
            w.Open($"public {model.ClassName}(global::StaticNet.Network owner, int parameterOffset, int bufferOffset)",
                "    : base(owner, parameterOffset, ParameterCount, bufferOffset, BufferFloats, InputSize, OutputSize)");
            w.Line("BuildLayers();");
            w.Close();
            w.Line();
            w.Open("private void BuildLayers()");
            foreach (LayerModel layer in model.Layers)
            {
                int index = steps.FindIndex(s => s.Kind != StepKind.ResidualAdd && s.Id == Code.Int(layer.Index));
                w.Line($"{Field(layer)} = {layer.Kind.Construct(layer, new ConstructContext(layer, plan, index, steps[index].Shortcut))};");
            }
            foreach (LayerModel layer in model.Layers)
            {
                w.Line($"AddLayer({Code.String(layer.Name)}, {Field(layer)});");
            }
            foreach (Step step in LayerSteps().Where(NeedsModuleField))
            {
                w.Line($"{StepContext.ModuleField(step)} = ({step.Layer.Kind.ModuleType(step.Layer)}){step.ModuleExpression};");
            }
            w.Close();
        }

        public void Forward(IndentedWriter w)
        {
            w.Line("/// <inheritdoc/>");
            w.Open($"protected override void ForwardCore(global::System.ReadOnlySpan<float> input, {Span} output)");
            w.Line("int batch = BeginForward(input.Length, output.Length);");
            for (int i = 0; i < steps.Count; i++)
            {
                if (steps[i].Kind == StepKind.Layer) steps[i].Layer.Kind.EmitPrecondition(steps[i].Layer, Context(w, i));
            }
            w.Line("int n = MaxBatch;");
            w.Line($"{Span} a = Activations;");
            w.Line("global::System.ReadOnlySpan<float> p = ParameterValues;");
            if (plan.BufferCount > 0) w.Line($"{Span} b = BufferArena;");
            if (plan.SavedPerSample + plan.SavedFixed > 0) w.Line($"{Span} s = SavedTensors;");
            w.Line();
            w.Line($"// x: {Shapes.Batched(model.InputShape)}, the input");
            w.Line($"{Span} x = Input(input, a.Slice(0, batch * {Code.Int(Shapes.Size(model.InputShape))}));");
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
                if (step.Kind == StepKind.ShortcutStart)
                {
                    w.Line($"// {Code.InComment(step.Label)} ({((NestedModel)layer).ShortcutTypeName}): {Shapes.Batched(layer.InputShape)} from {Name(step.Input)}");
                    continue;
                }
                StepContext c = Context(w, i);
                last = c.Output;
                if (step.Kind == StepKind.ResidualAdd)
                {
                    if (ResidualRelu.Applies(steps, i))
                    {
                        w.Line($"// {Code.InComment(step.Label)} residual sum: {c.Input} + {Skip(step)}, computed with the ReLU below, which keeps only its output");
                        continue;
                    }
                    w.Line($"// {Code.InComment(step.Label)} residual sum: {c.Output} {Shapes.Batched(layer.OutputShape)} = {c.Input} + {Skip(step)}");
                    w.Line($"{Span} {c.Output} = {OwnBuffer("a", i)};");
                    ResidualLayer.EmitAddForward(c, Skip(step));
                    continue;
                }
                ForwardFusion? intoNext = Fusions.Forward(steps, plan, i);
                if (intoNext is not null)
                {
                    w.Line($"// {Describe(step)}: {intoNext.FirstComment}");
                    layer.Kind.EmitForwardSetup(layer, c);
                    continue;
                }
                OutputBuffer kind = layer.Kind.Output(layer);
                string note = kind == OutputBuffer.View ? ", a view of " + c.Input : kind == OutputBuffer.OwnWhenFlagged ? ", " + c.Input + " itself when inactive" : "";
                w.Line($"// {Describe(step)}: {c.Output} {Shapes.Batched(layer.OutputShape)}{note}");
                layer.Kind.EmitForwardSetup(layer, c);
                w.Line($"{Span} {c.Output} = {Buffer(step, i, "a", c.Input)};");
                // A Conv2d, BatchNorm2d (and ReLU) that Infer runs as one folded convolution: each step's own forward runs only
                // when not folded, and the chain's last step runs the folded convolution otherwise.
                bool foldsNext = ConvBatchNormFold.Applies(steps, i), foldedRelu = ConvBatchNormFold.EndsWithRelu(steps, i);
                bool foldedNorm = ConvBatchNormFold.Applies(steps, i - 1), normBeforeRelu = foldedNorm && ConvBatchNormFold.EndsWithRelu(steps, i + 1);
                int conv = foldsNext ? i : foldedNorm ? i - 1 : i - 2;
                if (foldsNext)
                {
                    StepContext norm = Context(w, i + 1);
                    w.Line($"bool {ConvBatchNormFold.Flag(step)} = Inferring && !{norm.Module}.Training; // folded into one convolution below");
                }
                if (foldsNext || normBeforeRelu) w.Open($"if (!{ConvBatchNormFold.Flag(steps[conv])})");
                else if (foldedNorm || foldedRelu)
                {
                    w.Open($"if ({ConvBatchNormFold.Flag(steps[conv])})");
                    Conv2dLayer.EmitFoldedForward(Context(w, conv), (BatchNormModel)steps[conv + 1].Layer, Context(w, conv + 1), c, relu: foldedRelu);
                    w.Close();
                    w.Open("else");
                }
                ForwardFusion? fromPrevious = Fusions.Forward(steps, plan, i - 1);
                if (ConvSigmoidPool.Applies(steps, i)) w.Line($"// computed in one kernel with the {steps[i + 1].Layer.Kind.Name} and {steps[i + 2].Layer.Kind.Name} below, which leaves the {steps[i + 1].Layer.Kind.Name}'s derivative in {c.Output} for backward (not under Infer)");
                else if (ConvSigmoidPool.Applies(steps, i - 2)) Conv2dLayer.EmitForwardThroughSigmoidAvgPool(Context(w, i - 2), (Pool2dModel)layer, c);
                else if (fromPrevious is not null) fromPrevious.Emit(steps[i - 1].Layer, Context(w, i - 1), layer, c);
                else if (ResidualRelu.Applies(steps, i - 1)) ResidualLayer.EmitReluForward(Context(w, i - 1), Skip(steps[i - 1]), c);
                else layer.Kind.EmitForward(layer, c);
                if (foldsNext || foldedNorm || foldedRelu) w.Close();
            }
            w.Line();
            w.Line($"{last}.CopyTo(output);");
            w.Line("EndForward(batch);");
            w.Close();
        }

        public void Backward(IndentedWriter w)
        {
            w.Line("/// <inheritdoc/>");
            w.Open($"protected override void BackwardCore(int batch, global::System.ReadOnlySpan<float> outputGrad, {Span} inputGrad)");
            // The body first, then only the locals it reads (directly or through other locals): fewer statements to compile.
            IndentedWriter body = w.Fork();
            BackwardSteps(body);
            var locals = new List<(string Name, string Declaration, string? Comment)>
            {
                ("n", "int n = MaxBatch;", null),
                ("needInputGrad", "bool needInputGrad = !inputGrad.IsEmpty;", null),
                ("a", $"{Span} a = Activations;", null),
                ("g", $"{Span} g = ActivationGrads;", null),
                ("p", "global::System.ReadOnlySpan<float> p = ParameterValues;", null),
                ("dp", $"{Span} dp = GradientArena;", null),
                ("s", $"{Span} s = SavedTensors;", null),
                ("x", $"{Span} x = a.Slice(0, batch * {Code.Int(Shapes.Size(model.InputShape))});", $"// x, dx: {Shapes.Batched(model.InputShape)}"),
                ("dx", $"{Span} dx = g.Slice(0, batch * {Code.Int(Shapes.Size(model.InputShape))});", null),
            };
            foreach ((string name, string declaration) in TrainsDeclarations(body)) locals.Add((name, declaration, null));
            for (int i = 0; i < steps.Count; i++)
            {
                Step step = steps[i];
                if (step.Kind == StepKind.BlockStart) continue;
                if (step.Kind == StepKind.ShortcutStart)
                {
                    string ds = ShortcutGrad(step);
                    locals.Add((ds, $"{Span} {ds} = g.Slice({Code.Scaled(plan.ShortcutGradOffset[i])}, batch * {Code.Int(step.Layer.InputSize)});",
                        $"// {ds}: {Shapes.Batched(step.Layer.InputShape)}, the gradient {Code.InComment(step.Label)} sends to {Name(step.Input)}"));
                    continue;
                }
                string h = Out(step), x = In(i);
                locals.Add((h, $"{Span} {h} = {Buffer(step, i, "a", x)};", $"// {h}, d{h}: {Shapes.Batched(step.Layer.OutputShape)}"));
                locals.Add(("d" + h, $"{Span} d{h} = {Buffer(step, i, "g", InGrad(i))};", null));
            }
            var used = new HashSet<string>(Identifiers(body.ToString()), System.StringComparer.Ordinal);
            var kept = new bool[locals.Count];
            for (int i = locals.Count - 1; i >= 0; i--)
            {
                if (!used.Contains(locals[i].Name)) continue;
                kept[i] = true;
                used.UnionWith(Identifiers(locals[i].Declaration));
            }
            for (int i = 0; i < locals.Count; i++)
            {
                bool pairKept = kept[i] || (i + 1 < locals.Count && locals[i + 1].Comment is null && kept[i + 1]);
                if (locals[i].Comment is string comment && pairKept) w.Line(comment);
                if (kept[i]) w.Line(locals[i].Declaration);
                if (locals[i].Name == "s" && kept.Take(i + 1).Any(k => k)) w.Line();
            }
            w.Append(body);
            w.Close();
        }

        private void BackwardSteps(IndentedWriter w)
        {
            string last = Out(steps.Last(s => s.Kind is StepKind.Layer or StepKind.ResidualAdd));
            w.Line();
            w.Line($"outputGrad.CopyTo(d{last});");
            // A residual's skip gradient is added to its input's gradient once the block's first step has written it.
            var skipAdds = steps.Where(s => s.Kind == StepKind.ResidualAdd).ToLookup(s => s.FirstInner);
            for (int i = steps.Count - 1; i >= 0; i--)
            {
                Step step = steps[i];
                LayerModel layer = step.Layer;
                if (step.Kind is StepKind.BlockStart or StepKind.ShortcutStart) continue;
                StepContext c = Context(w, i);
                w.Line();
                if (step.Kind == StepKind.ResidualAdd)
                {
                    bool shortcut = ((NestedModel)layer).Shortcut.Count > 0;
                    if (ResidualRelu.AppliesBackward(steps, plan, i))
                    {
                        w.Line($"// {Code.InComment(step.Label)} residual sum: the ReLU above wrote the block's output gradient {c.InputGrad} and the {(shortcut ? "shortcut's" : "skip's")}");
                        continue;
                    }
                    w.Line(shortcut
                        ? $"// {Code.InComment(step.Label)} residual sum: the block's and the shortcut's output gradients are {c.OutputGrad}"
                        : $"// {Code.InComment(step.Label)} residual sum: the block's output gradient is {c.OutputGrad}; {c.OutputGrad} also flows to d{Skip(step)} around the block");
                    ResidualLayer.EmitAddBackward(c, shortcut ? "d" + Skip(step) : null);
                    continue;
                }
                if (ConvSigmoidPool.Applies(steps, i - 2) || ConvSigmoidPool.Applies(steps, i - 1))
                {
                    int conv = ConvSigmoidPool.Applies(steps, i - 2) ? i - 2 : i - 1;
                    w.Line($"// {Describe(step)}: computed with the {steps[conv].Layer.Kind.Name} below, which forms d{Out(steps[conv])} from d{Out(steps[conv + 2])}");
                    continue;
                }
                BackwardFusion? fromPrevious = Fusions.Backward(steps, plan, i - 1);
                BackwardFusion? intoNext = Fusions.Backward(steps, plan, i);
                bool chain = ConvSigmoidPool.Applies(steps, i);
                // After a residual sum: the gradient goes to the block's output and the skip's, the sum's copies left out.
                string? skipGrad = null;
                if (ResidualRelu.AppliesBackward(steps, plan, i - 1))
                {
                    Step residual = steps[i - 1];
                    skipGrad = ((NestedModel)residual.Layer).Shortcut.Count > 0 ? "d" + Skip(residual) : c.InputGrad;
                }
                if (chain)
                {
                    w.Line($"// {Describe(step)}: {c.InputGrad} {Shapes.Batched(layer.InputShape)} from d{Out(steps[i + 2])}, through the {steps[i + 1].Layer.Kind.Name} and {steps[i + 2].Layer.Kind.Name} above");
                }
                else if (intoNext is not null && layer.Kind.Output(layer) != OutputBuffer.View)
                {
                    w.Line($"// {Describe(step)}: {intoNext.FirstComment(c)}");
                }
                else if (fromPrevious is not null)
                {
                    w.Line($"// {Describe(step)}: d{In(i - 1)} {Shapes.Batched(steps[i - 1].Layer.InputShape)} from {c.OutputGrad}, through the {steps[i - 1].Layer.Kind.Name} below");
                }
                else if (skipGrad is not null)
                {
                    w.Line($"// {Describe(step)}: {Context(w, i - 1).InputGrad} and {skipGrad} {Shapes.Batched(layer.InputShape)} from {c.OutputGrad}, through the residual sum below");
                }
                else
                {
                    w.Line($"// {Describe(step)}: {c.InputGrad} {Shapes.Batched(layer.InputShape)} from {c.OutputGrad}");
                }
                if (chain)
                {
                    Conv2dLayer.EmitBackwardThroughSigmoidAvgPool(c, (Pool2dModel)steps[i + 2].Layer, Context(w, i + 2));
                }
                else if (layer.Kind.Output(layer) == OutputBuffer.View)
                {
                    w.Line($"// a view: {c.InputGrad} is {c.OutputGrad}");
                }
                else if (intoNext is null)
                {
                    // A step without parameters matters only for the gradients below it: the input's, or a trainable layer's
                    // (a residual, which routes around steps, computes everything).
                    string? condition = layer.Parameters.Count == 0 ? NeedsGradBelow(i) : null;
                    bool onlyForInput = condition is not null;
                    if (onlyForInput) w.Open($"if ({condition})");
                    if (fromPrevious is not null) fromPrevious.Emit(steps[i - 1].Layer, Context(w, i - 1), layer, c);
                    else if (skipGrad is not null) ResidualLayer.EmitReluBackward(Context(w, i - 1), skipGrad, c);
                    else layer.Kind.EmitBackward(layer, c);
                    if (onlyForInput) w.Close();
                }
                foreach (Step residual in skipAdds[i])
                {
                    bool shortcut = ((NestedModel)residual.Layer).Shortcut.Count > 0;
                    ResidualLayer.EmitSkipBackward(w, "d" + Name(steps[residual.FirstInner].Input),
                        shortcut ? ShortcutGrad(steps[ShortcutStartOf(residual)]) : "d" + Out(residual));
                }
            }
            w.Line();
            w.Line("if (needInputGrad) dx.CopyTo(inputGrad);");
        }

        /// <summary>The identifiers code reads, comment lines left out.</summary>
        private static IEnumerable<string> Identifiers(string code)
        {
            foreach (string line in code.Split('\n'))
            {
                if (line.TrimStart().StartsWith("//", System.StringComparison.Ordinal)) continue;
                for (int i = 0; i < line.Length; i++)
                {
                    if (!(char.IsLetter(line[i]) || line[i] == '_')) continue;
                    int start = i;
                    while (i < line.Length && (char.IsLetterOrDigit(line[i]) || line[i] == '_')) i++;
                    yield return line.Substring(start, i - start);
                }
            }
        }

        private IEnumerable<Step> LayerSteps() => steps.Where(s => s.Kind == StepKind.Layer);

        /// <summary>A nested layer's module gets a typed field when its code reads the module: its flags, or its parameters' RequiresGrad.</summary>
        private static bool NeedsModuleField(Step step) =>
            step.IsNested && (step.Layer.Kind.ReadsModule(step.Layer) || step.Layer.Parameters.Count > 0);

        private StepContext Context(IndentedWriter w, int i) =>
            new(w, steps[i], plan, i, In(i), Out(steps[i]), InGrad(i), NeedsGradBelow(i));

        /// <summary>
        /// When step i's input gradient is needed, as a bool expression: the caller asked for it, or some parameter below
        /// the step trains (<c>trains{k}</c>, k the last step below with parameters). Null in networks with residuals,
        /// where every gradient is computed. Steps without parameters are skipped when it is false, and a layer with
        /// parameters skips its input gradient: frozen first layers cost no backward work.
        /// </summary>
        private string? NeedsGradBelow(int i)
        {
            if (plan.HasResidual) return null;
            int below = LastParameterStepBelow(i);
            return below < 0 ? "needInputGrad" : TrainsName(below);
        }

        private int LastParameterStepBelow(int i)
        {
            for (int k = i - 1; k >= 0; k--)
            {
                if (steps[k].Kind == StepKind.Layer && steps[k].Layer.Parameters.Count > 0) return k;
            }
            return -1;
        }

        private static string TrainsName(int step) => "trains" + Code.Int(step);

        /// <summary>The declarations of the trains{k} flags: whether a gradient is needed below step k's output.</summary>
        private IEnumerable<(string Name, string Declaration)> TrainsDeclarations(IndentedWriter w)
        {
            if (plan.HasResidual) yield break;
            for (int k = 0; k < steps.Count; k++)
            {
                if (steps[k].Kind != StepKind.Layer || steps[k].Layer.Parameters.Count == 0) continue;
                StepContext c = Context(w, k);
                string own = string.Join(" || ", steps[k].Layer.Parameters.Select(p => c.Trains(p.Name)));
                yield return (TrainsName(k), $"bool {TrainsName(k)} = {NeedsGradBelow(k)} || {own};");
            }
        }

        /// <summary>A step's output (arena a) or its gradient (arena g): its own slice, its input's, or either by its flag.</summary>
        private string Buffer(Step step, int i, string arena, string input)
        {
            OutputBuffer kind = step.Kind == StepKind.Layer ? step.Layer.Kind.Output(step.Layer) : OutputBuffer.Own;
            return kind switch
            {
                OutputBuffer.View => input,
                OutputBuffer.OwnWhenFlagged => $"{StepContext.StepField(step, step.Layer.Kind.Flags(step.Layer)[0])} ? {OwnBuffer(arena, i)} : {input}",
                _ => OwnBuffer(arena, i),
            };
        }

        private string OwnBuffer(string arena, int i) => $"{arena}.Slice({Code.Scaled(plan.OutputOffset[i])}, batch * {Code.Int(steps[i].Layer.OutputSize)})";

        /// <summary>The buffer a step reads: the output of the step before it, or the input.</summary>
        private string In(int i) => Name(steps[i].Input);

        /// <summary>Where step i writes its input's gradient: the shortcut's own buffer for a shortcut's first step, else d of its input.</summary>
        private string InGrad(int i) => i > 0 && steps[i - 1].Kind == StepKind.ShortcutStart ? ShortcutGrad(steps[i - 1]) : "d" + In(i);

        private string Skip(Step residual) => Name(residual.Skip);

        private string Name(int step) => step < 0 ? "x" : Out(steps[step]);

        /// <summary>The ShortcutStart of a residual with a shortcut, from its ResidualAdd.</summary>
        private int ShortcutStartOf(Step residual) => steps.FindIndex(s => s.Kind == StepKind.ShortcutStart && s.Id == residual.Id + "_s");

        private static string ShortcutGrad(Step shortcutStart) => "dshortcut" + shortcutStart.Id.Substring(0, shortcutStart.Id.Length - 2);

        private static string Out(Step step) => "h" + step.Id;

        private static string Field(LayerModel layer) => "_layer" + Code.Int(layer.Index);

        private static string Describe(Step step)
        {
            LayerModel layer = step.Layer;
            string name = step.Label == step.Id.Replace('_', '.') ? "" : $" '{Code.InComment(step.Label)}'";
            return $"{step.Id.Replace('_', '.')}{name} {layer.Kind.Name}{layer.Kind.Describe(layer)}";
        }
    }
}
