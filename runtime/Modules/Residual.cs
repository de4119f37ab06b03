using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>
/// The module of a [Residual] layer: block(x) + x, or block(x) + shortcut(x), holding the block network as its child
/// "block" and the shortcut network, if any, as "shortcut" (as a PyTorch module with self.block and self.shortcut).
/// </summary>
public sealed class Residual : Module
{
    private readonly List<(string, Module)> _children;

    /// <summary>Created by generated code around embedded blocks.</summary>
    public Residual(Network block, Network? shortcut = null)
    {
        Block = block ?? throw new ArgumentNullException(nameof(block));
        Shortcut = shortcut;
        _children = shortcut is null ? [("block", block)] : [("block", block), ("shortcut", shortcut)];
    }

    /// <summary>The network inside the skip connection.</summary>
    public Network Block { get; }

    /// <summary>The network on the skip path, or null when the input itself is added.</summary>
    public Network? Shortcut { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, Module Module)> NamedChildren() => _children;
}
