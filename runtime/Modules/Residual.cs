using System;
using System.Collections.Generic;

namespace StaticNet;

/// <summary>The module of a [Residual] layer: x + block(x), holding the block network as its child "block".</summary>
public sealed class Residual : Module
{
    private readonly List<(string, Module)> _children;

    /// <summary>Created by generated code around an embedded block.</summary>
    public Residual(Network block)
    {
        Block = block ?? throw new ArgumentNullException(nameof(block));
        _children = [("block", block)];
    }

    /// <summary>The network inside the skip connection.</summary>
    public Network Block { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, Module Module)> NamedChildren() => _children;
}
