using StaticNet.Generator.Emit;
using StaticNet.Generator.Model;
using StaticNet.Generator.Parsing;

namespace StaticNet.Generator.Layers;

/// <summary>
/// Everything the generator knows about one kind of layer, in one place: reading its attribute (the only code that
/// touches Roslyn symbols), its shape rule with its diagnostics, the module it becomes, and its forward and backward
/// steps. <see cref="LayerKinds"/> lists them all; a new kind is one file and one line there.
/// </summary>
internal abstract class LayerKind
{
    /// <summary>PyTorch's class name, which is also the attribute's (without "Attribute") and the runtime module's.</summary>
    public abstract string Name { get; }

    /// <summary>The metadata name of the attribute that declares this kind.</summary>
    public string AttributeName => "StaticNet." + Name + "Attribute";

    /// <summary>The runtime module type a layer of this kind is (for Block, the nested network's own type).</summary>
    public virtual string ModuleType(LayerModel layer) => "global::StaticNet." + Name;

    /// <summary>Reads the attribute's arguments as given: no checks beyond what the compiler already did.</summary>
    public abstract LayerArguments Read(AttributeArguments attribute);

    /// <summary>Checks the arguments against the shape that arrives and builds the layer, or reports why not and returns null.</summary>
    public abstract LayerModel? Infer(LayerArguments arguments, InferenceContext context);

    /// <summary>The expression that constructs the layer's module, given where its tensors live.</summary>
    public abstract string Construct(LayerModel layer, ConstructContext context);

    /// <summary>The arguments shown after the kind in generated comments, PyTorch's repr style: <c>(784 -> 256)</c>.</summary>
    public virtual string Describe(LayerModel layer) => "";

    /// <summary>How the layer's output relates to its input buffer.</summary>
    public virtual OutputBuffer Output(LayerModel layer) => OutputBuffer.Own;

    /// <summary>Multiply-adds per sample in forward, as torchinfo counts them for matrix products and convolutions; 0 for the rest.</summary>
    public virtual long MultiplyAdds(LayerModel layer) => 0;

    /// <summary>Whether its generated steps read its module at run time (the training flag, a counter), so a nested one is kept in a field.</summary>
    public virtual bool ReadsModule(LayerModel layer) => false;

    /// <summary>Static readonly fields its steps read, such as a convolution's geometry: (name within the step, type, initial value).</summary>
    public virtual EquatableArray<StaticField> StaticFields(LayerModel layer) => EquatableArray<StaticField>.Empty;

    /// <summary>Names of the bool fields forward sets for backward (whether dropout ran, whether batch statistics were used).</summary>
    public virtual EquatableArray<string> Flags(LayerModel layer) => EquatableArray<string>.Empty;

    /// <summary>Checks written at the top of Forward, before any layer changes state (a BatchNorm's batch of one).</summary>
    public virtual void EmitPrecondition(LayerModel layer, StepContext context)
    {
    }

    /// <summary>Statements before the output buffer is declared (setting the flags a conditional output reads).</summary>
    public virtual void EmitForwardSetup(LayerModel layer, StepContext context)
    {
    }

    /// <summary>The forward statements: write <see cref="StepContext.Output"/> from <see cref="StepContext.Input"/>.</summary>
    public abstract void EmitForward(LayerModel layer, StepContext context);

    /// <summary>The backward statements: write <see cref="StepContext.InputGrad"/> and accumulate into parameter gradients.</summary>
    public abstract void EmitBackward(LayerModel layer, StepContext context);
}

/// <summary>A kind with typed arguments and a typed model: casts once here, so each kind's code sees its own records.</summary>
internal abstract class LayerKind<TArguments, TModel> : LayerKind
    where TArguments : LayerArguments
    where TModel : LayerModel
{
    public sealed override LayerModel? Infer(LayerArguments arguments, InferenceContext context) => Infer((TArguments)arguments, context);

    public sealed override string Construct(LayerModel layer, ConstructContext context) => Construct((TModel)layer, context);

    public sealed override string Describe(LayerModel layer) => Describe((TModel)layer);

    public sealed override void EmitForward(LayerModel layer, StepContext context) => EmitForward((TModel)layer, context);

    public sealed override void EmitBackward(LayerModel layer, StepContext context) => EmitBackward((TModel)layer, context);

    protected abstract TModel? Infer(TArguments arguments, InferenceContext context);

    protected abstract string Construct(TModel layer, ConstructContext context);

    protected virtual string Describe(TModel layer) => "";

    protected abstract void EmitForward(TModel layer, StepContext context);

    protected abstract void EmitBackward(TModel layer, StepContext context);
}

/// <summary>A static readonly field of the generated class that a layer's steps read (<see cref="StepContext.Static"/>).</summary>
internal sealed record StaticField(string Name, string Type, string Value);

/// <summary>Where a layer's output lives.</summary>
internal enum OutputBuffer
{
    /// <summary>A buffer of its own in the activation arena.</summary>
    Own,

    /// <summary>Its input's buffer: no copy, no kernel (Flatten, Identity).</summary>
    View,

    /// <summary>A buffer of its own when its first flag is set, its input's otherwise (Dropout: inactive, it is the identity).</summary>
    OwnWhenFlagged,
}
