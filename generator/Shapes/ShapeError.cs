namespace StaticNet.Generator;

/// <summary>
/// A problem found by shape inference, without source locations: the parser maps it to the attribute
/// (Argument -1), to a positional argument (0, 1, ...) or to a named argument (NamedArgument).
/// LayerIndex -1 means the [Network] attribute itself.
/// </summary>
internal sealed record ShapeError(string Id, int LayerIndex, int Argument, string? NamedArgument, string[] MessageArgs)
{
    public const int WholeAttribute = -1;
}
