using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using StaticNet.Generator.Model;

namespace StaticNet.Generator.Parsing;

/// <summary>
/// A layer attribute's arguments as constants, for the kinds' Read methods: positional arguments by position (params
/// arrays flattened), named ones by name. The compiler has already type-checked them; an attribute with errors never
/// gets here.
/// </summary>
internal sealed class AttributeArguments
{
    private readonly AttributeData _data;
    private readonly Func<ITypeSymbol?, NestedSpec> _readNetwork;

    public AttributeArguments(AttributeData data, Func<ITypeSymbol?, NestedSpec> readNetwork)
    {
        _data = data;
        _readNetwork = readNetwork;
    }

    /// <summary>How many positional arguments the chosen constructor takes.</summary>
    public int Count => _data.ConstructorArguments.Length;

    /// <summary>The integer positional arguments, whether passed one by one (params) or as one array.</summary>
    public int[] Ints() => ReadInts(_data.ConstructorArguments);

    /// <summary>The positional argument at <paramref name="position"/> as an int, or <paramref name="otherwise"/>.</summary>
    public int Int(int position, int otherwise = 0) =>
        position < Count && _data.ConstructorArguments[position].Value is int value ? value : otherwise;

    /// <summary>The positional argument at <paramref name="position"/> as a double, or <paramref name="otherwise"/>.</summary>
    public double Double(int position, double otherwise = 0) =>
        position < Count && _data.ConstructorArguments[position].Value is double value ? value : otherwise;

    /// <summary>Whether the named argument <paramref name="name"/> is written.</summary>
    public bool Has(string name) => _data.NamedArguments.Any(pair => pair.Key == name);

    /// <summary>The named argument's constant (boxed; null when written as null or not written).</summary>
    public object? Named(string name)
    {
        foreach (KeyValuePair<string, TypedConstant> pair in _data.NamedArguments)
        {
            if (pair.Key == name) return pair.Value.Kind == TypedConstantKind.Array ? null : pair.Value.Value;
        }
        return null;
    }

    public bool Bool(string name, bool otherwise) => Named(name) is bool value ? value : otherwise;

    public int Int(string name, int otherwise) => Named(name) is int value ? value : otherwise;

    public double Double(string name, double otherwise) => Named(name) is double value ? value : otherwise;

    public string? String(string name, string? otherwise) => Has(name) ? Named(name) as string : otherwise;

    /// <summary>The [Network] class a [Block] or [Residual] names at <paramref name="position"/>, read recursively.</summary>
    public NestedSpec Network(int position) =>
        _readNetwork(position < Count ? _data.ConstructorArguments[position].Value as ITypeSymbol : null);

    /// <summary>The [Network] class named by the named argument <paramref name="name"/>, or null when not written.</summary>
    public NestedSpec? Network(string name) => Has(name) ? _readNetwork(Named(name) as ITypeSymbol) : null;

    /// <summary>Integer constructor arguments, whether passed one by one (params) or as one array.</summary>
    public static int[] ReadInts(ImmutableArray<TypedConstant> args)
    {
        var ints = new List<int>();
        foreach (TypedConstant arg in args)
        {
            if (arg.Kind == TypedConstantKind.Array)
            {
                if (arg.IsNull) continue; // [Network(null)]: no shape, reported as such
                ints.AddRange(arg.Values.Select(v => v.Value is int i ? i : 0));
            }
            else if (arg.Value is int i)
            {
                ints.Add(i);
            }
        }
        return ints.ToArray();
    }
}
