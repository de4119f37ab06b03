using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace StaticNet.Generator;

/// <summary>Every diagnostic the generator reports. The README's diagnostics table lists the same ids and meanings.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "StaticNet";

    public const string NotPartialId = "SN0001";
    public const string UnsupportedClassId = "SN0002";
    public const string NoInputShapeId = "SN0003";
    public const string NonPositiveSizeId = "SN0004";
    public const string NoLayersId = "SN0005";
    public const string LinearInFeaturesId = "SN0006";
    public const string DimOutOfRangeId = "SN0007";
    public const string FlattenOrderId = "SN0008";
    public const string DropoutProbabilityId = "SN0009";
    public const string LayerWithoutNetworkId = "SN0010";
    public const string DuplicateNameId = "SN0011";
    public const string InvalidNameId = "SN0012";
    public const string InvalidArgumentId = "SN0013";
    public const string TooLargeId = "SN0014";
    public const string ModuleAndNetworkId = "SN0015";
    public const string DuplicateChildId = "SN0016";
    public const string NotANetworkId = "SN0017";
    public const string RecursiveBlockId = "SN0018";
    public const string BlockHasErrorsId = "SN0019";
    public const string BlockInputId = "SN0020";
    public const string ResidualShapeId = "SN0021";
    public const string NormalizedShapeId = "SN0022";
    public const string EpsId = "SN0023";
    public const string MomentumId = "SN0024";
    public const string InputRankId = "SN0025";
    public const string KernelTooLargeId = "SN0026";
    public const string GroupsId = "SN0027";
    public const string PoolPaddingId = "SN0028";
    public const string SamePaddingStrideId = "SN0029";
    public const string InChannelsId = "SN0030";
    public const string ShortcutShapeId = "SN0031";
    public const string TooManyLayersId = "SN0032";
    public const string SplitLayersId = "SN0033";
    public const string LinearOnManyDimensionsId = "SN0034";

    /// <summary>The diagnostic property that carries the value a code fix writes.</summary>
    public const string FixProperty = "Fix";

    /// <summary>
    /// Where each diagnostic's help link points: the README's diagnostics table, one anchor per id (sn0006). The
    /// repository's public home; change it here if the repository moves.
    /// </summary>
    public const string HelpBase = "https://github.com/staticnet/staticnet/blob/main/README.md#";

    public static readonly DiagnosticDescriptor NotPartial = Error(NotPartialId,
        "Network class must be partial",
        "'{0}' must be declared partial so that the generator can add its code to it");

    public static readonly DiagnosticDescriptor UnsupportedClass = Error(UnsupportedClassId,
        "Unsupported network class",
        "'{0}' cannot be a network class: {1}");

    public static readonly DiagnosticDescriptor NoInputShape = Error(NoInputShapeId,
        "Network has no input shape",
        "Network '{0}' declares no input shape: give the per-sample shape, for example [Network(1, 28, 28)]");

    public static readonly DiagnosticDescriptor NonPositiveSize = Error(NonPositiveSizeId,
        "Size must be positive",
        "The {0} of {1} must be positive, but it is {2}");

    public static readonly DiagnosticDescriptor NoLayers = Error(NoLayersId,
        "Network has no layers",
        "Network '{0}' has no layers: add layer attributes such as [Linear(10)] after [Network(...)]");

    public static readonly DiagnosticDescriptor LinearInFeatures = Error(LinearInFeaturesId,
        "Linear in_features does not match its input",
        "The {0} expects in_features {1}, but its input has shape {2} (last dimension {3})");

    public static readonly DiagnosticDescriptor DimOutOfRange = Error(DimOutOfRangeId,
        "Dimension out of range",
        "The {0} has {1} {2}, which is out of range for its input of shape {3}: expected {4}");

    public static readonly DiagnosticDescriptor FlattenOrder = Error(FlattenOrderId,
        "Flatten start_dim comes after end_dim",
        "The {0} has start_dim {1} after end_dim {2} for its input of shape {3}");

    public static readonly DiagnosticDescriptor DropoutProbability = Error(DropoutProbabilityId,
        "Dropout probability out of range",
        "The {0} has p = {1}, but p must be from 0 to 1");

    public static readonly DiagnosticDescriptor LayerWithoutNetwork = Error(LayerWithoutNetworkId,
        "Layer attribute without [Network]",
        "[{0}] on '{1}' has no effect: the class has no [Network(...)] attribute giving the input shape");

    public static readonly DiagnosticDescriptor DuplicateName = Error(DuplicateNameId,
        "Duplicate layer name",
        "The {0} is named '{1}', which the {2} already uses; layer names must be unique");

    public static readonly DiagnosticDescriptor InvalidName = Error(InvalidNameId,
        "Invalid layer name",
        "Layer {0} is named \"{1}\", but a layer name must be non-empty and must not contain '.'");

    public static readonly DiagnosticDescriptor InvalidArgument = Error(InvalidArgumentId,
        "Invalid layer argument",
        "The {0} has an invalid argument: {1}");

    public static readonly DiagnosticDescriptor TooLarge = Error(TooLargeId,
        "Network too large",
        "Network '{0}': {1} needs more than {2} floats, the most one buffer can hold");

    public static readonly DiagnosticDescriptor ModuleAndNetwork = Error(ModuleAndNetworkId,
        "Class is both a module and a network",
        "'{0}' has both [Module] and [Network]: a network already is a module; keep one of them");

    public static readonly DiagnosticDescriptor DuplicateChild = Error(DuplicateChildId,
        "Duplicate child module name",
        "The members '{0}' and '{1}' of module '{2}' would both be named '{3}' in state_dict keys; rename one");

    public static readonly DiagnosticDescriptor NotANetwork = Error(NotANetworkId,
        "Block type is not a network",
        "The {0} uses '{1}', which is not a [Network] class");

    public static readonly DiagnosticDescriptor RecursiveBlock = Error(RecursiveBlockId,
        "Network contains itself",
        "The {0} uses '{1}', which makes a network contain itself: {2}");

    public static readonly DiagnosticDescriptor BlockHasErrors = Error(BlockHasErrorsId,
        "Block network has errors",
        "The {0} uses '{1}', whose declaration has errors of its own");

    public static readonly DiagnosticDescriptor BlockInput = Error(BlockInputId,
        "Block input shape does not match",
        "The {0} uses '{1}', which takes input of shape {2}, but the shape that arrives is {3}");

    public static readonly DiagnosticDescriptor ResidualShape = Error(ResidualShapeId,
        "Residual block changes the shape",
        "The {0} uses '{1}' in a residual connection, but it maps {2} to {3}: x + block(x) needs both the same");

    public static readonly DiagnosticDescriptor NormalizedShape = Error(NormalizedShapeId,
        "Normalised shape does not match the input",
        "The {0} has {1} {2}, but the shape that arrives is {3}: expected {4}");

    public static readonly DiagnosticDescriptor Eps = Error(EpsId,
        "eps must be positive",
        "The {0} has eps {1}, but eps must be positive and finite");

    public static readonly DiagnosticDescriptor Momentum = Error(MomentumId,
        "Momentum out of range",
        "The {0} has momentum {1}, but momentum must be from 0 to 1 (or null, for a cumulative moving average)");

    public static readonly DiagnosticDescriptor InputRank = Error(InputRankId,
        "Layer cannot take this input rank",
        "The {0} takes input of shape {1}, but the shape that arrives is {2}");

    public static readonly DiagnosticDescriptor KernelTooLarge = Error(KernelTooLargeId,
        "Kernel larger than the padded input",
        "The {0} has a {1} window of {2} (dilated), but its padded input is {3}: the output would have no positions");

    public static readonly DiagnosticDescriptor Groups = Error(GroupsId,
        "Channels not divisible by groups",
        "The {0} has groups {1}, but in_channels {2} and out_channels {3} must both be divisible by it");

    public static readonly DiagnosticDescriptor PoolPadding = Error(PoolPaddingId,
        "Pooling padding over half the window",
        "The {0} has padding {1}, but padding must be at most half the (dilated) window, {2}");

    public static readonly DiagnosticDescriptor SamePaddingStride = Error(SamePaddingStrideId,
        "padding='same' with a stride",
        "The {0} has padding \"same\" with stride {1}, but \"same\" padding needs stride 1 (as in PyTorch)");

    public static readonly DiagnosticDescriptor InChannels = Error(InChannelsId,
        "in_channels does not match its input",
        "The {0} expects in_channels {1}, but its input has shape {2} ({3} channels)");

    public static readonly DiagnosticDescriptor ShortcutShape = Error(ShortcutShapeId,
        "Residual shortcut changes the shape differently from the block",
        "The {0} uses '{1}' as the shortcut of '{2}', but it maps {3} to {4} and the block maps it to {5}: the sum needs both the same");

    public static readonly DiagnosticDescriptor TooManyLayers = Error(TooManyLayersId,
        "Too many layers once blocks are inlined",
        "The {0} uses '{1}', but inlining it would give more than 2,048 layers: {2}");

    public static readonly DiagnosticDescriptor SplitLayers = Error(SplitLayersId,
        "Layers on more than one partial declaration",
        "'{0}' has layer attributes on more than one partial declaration ({1} and {2}), so their order would depend on file names: put all its layers on one declaration");

    public static readonly DiagnosticDescriptor LinearOnManyDimensions = new(LinearOnManyDimensionsId,
        "Linear on a multi-dimensional input",
        "The {0} receives {1} and acts on its last dimension ({2}) only, as in PyTorch; if it should see each sample whole, put [Flatten] before it",
        Category, DiagnosticSeverity.Info, isEnabledByDefault: true, helpLinkUri: HelpBase + "sn0034");

    private static readonly Dictionary<string, DiagnosticDescriptor> All = new()
    {
        [NotPartialId] = NotPartial,
        [UnsupportedClassId] = UnsupportedClass,
        [NoInputShapeId] = NoInputShape,
        [NonPositiveSizeId] = NonPositiveSize,
        [NoLayersId] = NoLayers,
        [LinearInFeaturesId] = LinearInFeatures,
        [DimOutOfRangeId] = DimOutOfRange,
        [FlattenOrderId] = FlattenOrder,
        [DropoutProbabilityId] = DropoutProbability,
        [LayerWithoutNetworkId] = LayerWithoutNetwork,
        [DuplicateNameId] = DuplicateName,
        [InvalidNameId] = InvalidName,
        [InvalidArgumentId] = InvalidArgument,
        [TooLargeId] = TooLarge,
        [ModuleAndNetworkId] = ModuleAndNetwork,
        [DuplicateChildId] = DuplicateChild,
        [NotANetworkId] = NotANetwork,
        [RecursiveBlockId] = RecursiveBlock,
        [BlockHasErrorsId] = BlockHasErrors,
        [BlockInputId] = BlockInput,
        [ResidualShapeId] = ResidualShape,
        [NormalizedShapeId] = NormalizedShape,
        [EpsId] = Eps,
        [MomentumId] = Momentum,
        [InputRankId] = InputRank,
        [KernelTooLargeId] = KernelTooLarge,
        [GroupsId] = Groups,
        [PoolPaddingId] = PoolPadding,
        [SamePaddingStrideId] = SamePaddingStride,
        [InChannelsId] = InChannels,
        [ShortcutShapeId] = ShortcutShape,
        [TooManyLayersId] = TooManyLayers,
        [SplitLayersId] = SplitLayers,
        [LinearOnManyDimensionsId] = LinearOnManyDimensions,
    };

    public static IReadOnlyCollection<DiagnosticDescriptor> Descriptors => All.Values;

    public static DiagnosticDescriptor ById(string id) => All[id];

    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());
}
