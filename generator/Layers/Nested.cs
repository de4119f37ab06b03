using System.Linq;
using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>[Block(typeof(Other))] and [Residual(typeof(Other))]: the network named, read from its own attributes.</summary>
internal sealed record NestedArguments(NestedSpec Network, NestedSpec? Shortcut = null) : LayerArguments;

/// <summary>
/// A layer that is another declared network, inlined step by step into its owner's generated code (see
/// <see cref="Step.Flatten"/>): its layers' tensors live in the owner's arenas.
/// </summary>
internal abstract record NestedModel : LayerModel
{
    /// <summary>The nested network's global:: type name.</summary>
    public string TypeName { get; init; } = "";

    /// <summary>Its layers, inferred.</summary>
    public EquatableArray<LayerModel> Inner { get; init; }

    /// <summary>Between the layer's name and its inner layers' names in state_dict keys: "" or "block.".</summary>
    public abstract string InnerPrefix { get; }

    /// <summary>Whether its input is added to the block's output (a residual connection).</summary>
    public abstract bool AddsInput { get; }

    /// <summary>The expression that reaches the nested network from the layer's module expression.</summary>
    public abstract string BlockExpression(string module);

    /// <summary>A residual's shortcut network's layers, run on its input instead of adding the input itself; empty for none.</summary>
    public EquatableArray<LayerModel> Shortcut { get; init; }

    /// <summary>The shortcut network's global:: type name, or null.</summary>
    public string? ShortcutTypeName { get; init; }

    /// <summary>The expression that reaches the shortcut network from the layer's module expression.</summary>
    public virtual string ShortcutExpression(string module) => throw new System.NotSupportedException();

    public override int ParameterFloats => Inner.Sum(l => l.ParameterFloats) + Shortcut.Sum(l => l.ParameterFloats);

    public override int BufferFloats => Inner.Sum(l => l.BufferFloats) + Shortcut.Sum(l => l.BufferFloats);
}

/// <summary>Reading and checking the network a nested layer names; what Block and Residual share.</summary>
internal abstract class NestedKind<TModel> : LayerKind<NestedArguments, TModel> where TModel : NestedModel
{
    public override LayerArguments Read(AttributeArguments attribute) => new NestedArguments(attribute.Network(0));

    /// <summary>Infers the named network on its own and checks its input against the shape that arrives; returns its layers.</summary>
    /// <remarks><paramref name="named"/> is the named argument that gave the network, or null for the first positional one.</remarks>
    protected static EquatableArray<LayerModel>? InferNetwork(NestedSpec nested, InferenceContext context, string? named = null)
    {
        void Report(string id, int argument, params string[] args)
        {
            if (named is null) context.Error(id, argument, args);
            else context.NamedError(id, named, args);
        }
        if (nested.ErrorId is not null)
        {
            Report(nested.ErrorId, ShapeError.WholeAttribute,
                nested.ErrorDetail is null ? [context.Label, nested.ShortName] : [context.Label, nested.ShortName, nested.ErrorDetail]);
            return null;
        }
        ShapeInference.Result inner = ShapeInference.Infer(nested.ShortName, nested.InputShape, nested.Layers);
        if (!inner.Succeeded)
        {
            Report(DiagnosticDescriptors.BlockHasErrorsId, ShapeError.WholeAttribute, context.Label, nested.ShortName);
            return null;
        }
        if (!nested.InputShape.SequenceEqual(context.Input))
        {
            Report(DiagnosticDescriptors.BlockInputId, 0, context.Label, nested.ShortName, Shapes.Batched(nested.InputShape), context.BatchedInput);
            return null;
        }
        return inner.Layers;
    }

    protected override string Describe(TModel layer) => $"({layer.TypeName})";

    // A nested layer's steps are its inner layers' steps; the BlockStart step emits only a comment.
    protected override void EmitForward(TModel layer, StepContext context)
    {
    }

    protected override void EmitBackward(TModel layer, StepContext context)
    {
    }
}
