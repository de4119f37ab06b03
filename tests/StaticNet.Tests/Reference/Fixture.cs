using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace StaticNet.Tests.Reference;

/// <summary>
/// The tensors of a committed safetensors fixture made by tests/fixtures/make_fixtures.py from PyTorch.
/// A small reader of its own (F32 and I64 only), so the tests depend on nothing but the files.
/// </summary>
internal sealed class Fixture
{
    private readonly Dictionary<string, (string DType, int[] Shape, byte[] Data)> _tensors = new(StringComparer.Ordinal);

    public Fixture(string fileName)
    {
        byte[] bytes = File.ReadAllBytes(Path.IsPathRooted(fileName) ? fileName : Path.Combine(AppContext.BaseDirectory, "fixtures", fileName));
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        using JsonDocument header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        foreach (JsonProperty entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            int[] offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            _tensors[entry.Name] = (entry.Value.GetProperty("dtype").GetString()!,
                entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                bytes.AsSpan(8 + headerLength + offsets[0], offsets[1] - offsets[0]).ToArray());
        }
    }

    public IEnumerable<string> Names => _tensors.Keys;

    public int[] Shape(string name) => _tensors[name].Shape;

    public float[] Floats(string name)
    {
        (string dtype, _, byte[] data) = Get(name, "F32");
        var values = new float[data.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(4 * i));
        return values;
    }

    public int[] Ints(string name)
    {
        (string dtype, _, byte[] data) = Get(name, "I64");
        var values = new int[data.Length / 8];
        for (int i = 0; i < values.Length; i++) values[i] = checked((int)BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(8 * i)));
        return values;
    }

    private (string, int[], byte[]) Get(string name, string dtype)
    {
        if (!_tensors.TryGetValue(name, out var tensor)) throw new KeyNotFoundException($"The fixture has no tensor '{name}'.");
        if (tensor.DType != dtype) throw new InvalidOperationException($"Tensor '{name}' is {tensor.DType}, not {dtype}.");
        return tensor;
    }
}
