namespace StaticNet.Generator;

/// <summary>
/// A problem found by shape inference, without source locations: the parser maps it to the attribute
/// (Argument -1), to a positional argument (0, 1, ...) or to a named argument (NamedArgument).
/// LayerIndex -1 means the [Network] attribute itself. Fix, when set, is the value the IDE's code fix writes (the
/// in_features that arrives, the nearest valid dimension); it travels as the diagnostic's "Fix" property.
/// </summary>
internal sealed record ShapeError(string Id, int LayerIndex, int Argument, string? NamedArgument, string[] MessageArgs, string? Fix = null)
{
    public const int WholeAttribute = -1;
}
