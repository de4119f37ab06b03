using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using StaticNet.OnnxProto;

namespace StaticNet;

/// <summary>
/// Builds an ONNX graph node by node: fresh names for intermediate values, initializers for weights and constants,
/// attributes by type. What it writes is plain onnx.proto (GraphProto), generated from ONNX's own schema.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public GraphProto Graph { get; } = new() { Name = "staticnet" };

    /// <summary>Adds a node and returns the name of its (first) output.</summary>
    public string Node(string op, IReadOnlyList<string> inputs, string hint, params AttributeProto[] attributes)
    {
        string output = Fresh(hint);
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>An F32 initializer named <paramref name="name"/>.</summary>
    public string Initializer(string name, ReadOnlySpan<float> values, IReadOnlyList<int> shape, bool reserved = false)
    {
        if (!reserved) Reserve(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)) };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>An I64 initializer named <paramref name="name"/>.</summary>
    public string Initializer(string name, ReadOnlySpan<long> values, IReadOnlyList<int> shape, bool reserved = false)
    {
        if (!reserved) Reserve(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)) };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A constant F32 tensor with a fresh name.</summary>
    public string Constant(string hint, float[] values, params int[] shape) => Initializer(Fresh(hint), values, shape, reserved: true);

    /// <summary>A constant I64 tensor with a fresh name (shapes for Reshape, axes).</summary>
    public string Constant(string hint, long[] values, params int[] shape) => Initializer(Fresh(hint), values, shape, reserved: true);

    /// <summary>A graph input or output of F32 elements, batch dimension symbolic.</summary>
    public static ValueInfoProto Value(string name, ReadOnlySpan<int> sampleShape)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (int d in sampleShape) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A name no value of the graph has yet.</summary>
    public string Fresh(string hint)
    {
        string name;
        do name = $"{hint}_{_counter++}";
        while (_names.Contains(name));
        _names.Add(name);
        return name;
    }

    private void Reserve(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"Two values of the exported graph are named '{name}'.");
    }
}
