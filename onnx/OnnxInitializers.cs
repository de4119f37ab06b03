using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using StaticNet.OnnxProto;

namespace StaticNet;

/// <summary>
/// The initializers of an ONNX model as a state_dict source, validated before any is read: every tensor's name, dtype,
/// dimensions and data size are checked against each other (and the data against the bytes the file really holds, which
/// protobuf's reader checks before it allocates anything for them). Any malformed or hostile file is an
/// <see cref="InvalidDataException"/> saying what is wrong.
/// </summary>
internal sealed class OnnxInitializers : IStateSource
{
    private readonly string _path;
    private readonly Dictionary<string, (TensorProto Tensor, int[] Shape, string DType)> _byName = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];

    private OnnxInitializers(string path) => _path = path;

    public static OnnxInitializers Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            if (file.Length > Array.MaxLength) throw Bad(path, $"the file holds {file.Length} bytes; ONNX models this large keep their weights as external data, which is not supported.");
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Bad(path, $"the protobuf is malformed ({e.Message}).", e);
        }
        if (model.Graph is null) throw Bad(path, "the model has no graph.");
        var source = new OnnxInitializers(path);
        foreach (TensorProto tensor in model.Graph.Initializer) source.Add(tensor);
        return source;
    }

    public IEnumerable<string> Names => _names;

    public bool TryFind(string name, out IReadOnlyList<int> shape, out string dtype)
    {
        bool found = _byName.TryGetValue(name, out var entry);
        shape = found ? entry.Shape : [];
        dtype = found ? entry.DType : "";
        return found;
    }

    public void ReadFloats(string name, Span<float> destination)
    {
        (TensorProto t, int[] _, string dtype) = _byName[name];
        if (destination.Length != Numel(t)) throw new ArgumentException($"'{name}' holds {Numel(t)} elements, but the destination holds {destination.Length}.", nameof(destination));
        ReadOnlySpan<byte> raw = t.RawData.Span;
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = dtype switch
            {
                "F32" => raw.IsEmpty ? t.FloatData[i] : BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]),
                "F64" => (float)(raw.IsEmpty ? t.DoubleData[i] : BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..])),
                "F16" => (float)BitConverter.UInt16BitsToHalf(raw.IsEmpty ? (ushort)t.Int32Data[i] : BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..])),
                "BF16" => BitConverter.Int32BitsToSingle((raw.IsEmpty ? (ushort)t.Int32Data[i] : BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..])) << 16),
                _ => throw new InvalidDataException($"'{name}' has dtype {dtype}, which cannot be read as float."),
            };
        }
    }

    public void ReadInt64s(string name, Span<long> destination)
    {
        (TensorProto t, int[] _, string dtype) = _byName[name];
        if (destination.Length != Numel(t)) throw new ArgumentException($"'{name}' holds {Numel(t)} elements, but the destination holds {destination.Length}.", nameof(destination));
        ReadOnlySpan<byte> raw = t.RawData.Span;
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = dtype switch
            {
                "I64" => raw.IsEmpty ? t.Int64Data[i] : BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]),
                "I32" => raw.IsEmpty ? t.Int32Data[i] : BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]),
                _ => throw new InvalidDataException($"'{name}' has dtype {dtype}, which cannot be read as an integer."),
            };
        }
    }

    private void Add(TensorProto tensor)
    {
        string name = tensor.Name;
        if (string.IsNullOrEmpty(name)) throw Bad(_path, "an initializer has no name.");
        if (_byName.ContainsKey(name)) throw Bad(_path, $"the initializer '{name}' appears twice.");
        if (tensor.HasDataLocation && tensor.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw Bad(_path, $"'{name}' keeps its data in an external file, which is not supported.");
        }
        var shape = new int[tensor.Dims.Count];
        long numel = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = tensor.Dims[i];
            if (d < 0 || d > int.MaxValue) throw Bad(_path, $"'{name}' has an invalid dimension {d}: dimensions are whole numbers from 0 to {int.MaxValue}.");
            shape[i] = (int)d;
            numel = d == 0 ? 0 : numel > Array.MaxLength / d ? throw Bad(_path, $"'{name}' has a shape whose size overflows.") : numel * d;
        }
        (string dtype, int size) = tensor.DataType switch
        {
            (int)TensorProto.Types.DataType.Float => ("F32", 4),
            (int)TensorProto.Types.DataType.Double => ("F64", 8),
            (int)TensorProto.Types.DataType.Float16 => ("F16", 2),
            (int)TensorProto.Types.DataType.Bfloat16 => ("BF16", 2),
            (int)TensorProto.Types.DataType.Int64 => ("I64", 8),
            (int)TensorProto.Types.DataType.Int32 => ("I32", 4),
            _ => (Enum.IsDefined(typeof(TensorProto.Types.DataType), tensor.DataType) ? ((TensorProto.Types.DataType)tensor.DataType).ToString().ToUpperInvariant() : $"type {tensor.DataType}", 0),
        };
        if (size > 0)
        {
            long typed = dtype switch
            {
                "F32" => tensor.FloatData.Count,
                "F64" => tensor.DoubleData.Count,
                "I64" => tensor.Int64Data.Count,
                _ => tensor.Int32Data.Count,
            };
            if (!tensor.RawData.IsEmpty ? tensor.RawData.Length != numel * size || typed != 0 : typed != numel)
            {
                throw Bad(_path, $"'{name}' is {dtype} of shape [{string.Join(", ", shape)}] ({numel} elements), but its data holds " +
                    (tensor.RawData.IsEmpty ? $"{typed} values." : $"{tensor.RawData.Length} bytes{(typed != 0 ? $" and {typed} values" : "")}."));
            }
        }
        _byName.Add(name, (tensor, shape, dtype));
        _names.Add(name);
    }

    private static long Numel(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    private static InvalidDataException Bad(string path, string message, Exception? inner = null) => new($"{path}: not a valid ONNX model: {message}", inner);
}
