using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;

namespace StaticNet;

/// <summary>
/// Holds modules in a list (torch.nn.ModuleList): it registers them, so that Parameters(), Apply(), Train()/Eval(),
/// ZeroGrad() and state_dict names (<c>0.1.weight</c>, <c>1.1.weight</c>, ...) reach each of them, but it has no Forward
/// of its own: the code that owns it calls its members in whatever order it likes.
/// </summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = [];
    private readonly List<(string Name, Module Module)> _named = [];

    /// <summary>An empty list.</summary>
    public ModuleList()
    {
    }

    /// <summary>A list of <paramref name="modules"/>, in order.</summary>
    public ModuleList(IEnumerable<T> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (T module in modules) Add(module);
    }

    /// <summary>Appends a module; it is named by its index, as in nn.ModuleList.</summary>
    public void Add(T module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A ModuleList cannot contain itself.", nameof(module));
        _named.Add((_items.Count.ToString(CultureInfo.InvariantCulture), module));
        _items.Add(module);
    }

    /// <summary>The module at <paramref name="index"/>.</summary>
    public T this[int index] => _items[index];

    /// <summary>How many modules the list holds.</summary>
    public int Count => _items.Count;

    /// <inheritdoc/>
    public override IReadOnlyList<(string Name, Module Module)> NamedChildren() => _named;

    /// <inheritdoc/>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    protected override string TypeName => "ModuleList";
}
