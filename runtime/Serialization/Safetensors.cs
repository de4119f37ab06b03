using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace StaticNet;

/// <summary>What <see cref="Safetensors.Load"/> could not match, as torch's load_state_dict reports it.</summary>
public sealed record LoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys, IReadOnlyList<string> ShapeMismatches)
{
    /// <summary>True when every parameter was loaded and the file held nothing else.</summary>
    public bool IsExactMatch => MissingKeys.Count == 0 && UnexpectedKeys.Count == 0 && ShapeMismatches.Count == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string>();
        if (MissingKeys.Count > 0) parts.Add("missing: " + string.Join(", ", MissingKeys));
        if (UnexpectedKeys.Count > 0) parts.Add("unexpected: " + string.Join(", ", UnexpectedKeys));
        if (ShapeMismatches.Count > 0) parts.Add("wrong shape: " + string.Join("; ", ShapeMismatches));
        return parts.Count == 0 ? "all keys matched" : string.Join("; ", parts);
    }
}

/// <summary>Thrown by a strict load whose file does not match the module: every mismatch is listed at once, and nothing is loaded.</summary>
public sealed class StateDictMismatchException(string path, LoadResult result)
    : Exception($"{path} does not match the module ({result}). Nothing was loaded; pass strict: false to load what matches.")
{
    /// <summary>The mismatches.</summary>
    public LoadResult Result { get; } = result;
}

/// <summary>
/// Reads and writes a module's parameters in the safetensors format PyTorch users share weights in (8-byte little-endian
/// header length, a JSON header of name -> dtype, shape, data offsets, then the raw little-endian data), under their
/// state_dict names and shapes, so that <c>safetensors.torch.load_file</c> and <c>load_state_dict</c> take them as they are.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Loads the state_dict (parameters and buffers) from <paramref name="path"/> by name: F32 tensors from F32, F16,
    /// BF16 or F64 (converted), I64 buffers from I64 or I32. Strict (the default, as load_state_dict): any missing,
    /// unexpected or wrongly shaped tensor throws <see cref="StateDictMismatchException"/> listing them all, and nothing is
    /// loaded. Not strict: what matches is loaded and the rest is returned. A malformed file throws
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    public static LoadResult Load(Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        using SafetensorsFile file = SafetensorsFile.Open(path);
        return LoadState(module.StateDict().ToArray(), file, path, strict, prefix: "");
    }

    internal static LoadResult LoadState((string Name, StateTensor Tensor)[] state, SafetensorsFile file, string path, bool strict, string prefix) =>
        StateDictLoader.Load(state, file, path, strict, prefix);

    /// <summary>
    /// Saves the state_dict of <paramref name="module"/> (parameters and buffers; F32, and I64 for counters) to
    /// <paramref name="path"/>. The file is written to a temporary file beside it, flushed to disk and then renamed over
    /// the target, so a crash never leaves a half-written file there (see <see cref="AtomicFile"/>: a symbolic link is
    /// written through, and a killed save's temporary file is cleaned up by the next save).
    /// </summary>
    public static void Save(Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        Write(path, module.StateDict().Select(t => SafetensorsTensor.Of(t.Name, t.Tensor)).ToArray(), new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Writes F32 tensors and string metadata as safetensors, atomically (temporary file, flush, rename): for inputs, outputs and anything else beside weights.</summary>
    public static void Write(string path, (string Name, int[] Shape, ReadOnlyMemory<float> Data)[] tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors.Select(t => new SafetensorsTensor(t.Name, t.Shape, t.Data, default)).ToArray(), metadata);
    }

    internal static void Write(string path, SafetensorsTensor[] tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);

        using var headerBuffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerBuffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            foreach (KeyValuePair<string, string> item in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(item.Key, item.Value);
            json.WriteEndObject();
            long offset = 0;
            foreach (SafetensorsTensor tensor in tensors)
            {
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", tensor.IsInt64 ? "I64" : "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset += tensor.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // The data section starts 8-byte aligned: the header is padded with spaces, as the format allows.
        int padding = (int)(-headerBuffer.Length & 7);
        for (int i = 0; i < padding; i++) headerBuffer.WriteByte((byte)' ');

        AtomicFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBuffer.Length);
            file.Write(length);
            headerBuffer.Position = 0;
            headerBuffer.CopyTo(file);
            foreach (SafetensorsTensor tensor in tensors)
            {
                if (tensor.IsInt64) WriteLittleEndian(file, tensor.Int64s.Span);
                else WriteLittleEndian(file, tensor.Floats.Span);
            }
        });
    }

    private static void WriteLittleEndian(Stream stream, ReadOnlySpan<long> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> bytes = stackalloc byte[8];
        foreach (long v in values)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes, v);
            stream.Write(bytes);
        }
    }

    private static void WriteLittleEndian(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> bytes = stackalloc byte[4];
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, v);
            stream.Write(bytes);
        }
    }
}

/// <summary>One tensor to write: F32 values, or I64 values when <see cref="IsInt64"/>.</summary>
internal readonly record struct SafetensorsTensor(string Name, int[] Shape, ReadOnlyMemory<float> Floats, ReadOnlyMemory<long> Int64s, bool IsInt64 = false)
{
    public long ByteLength => IsInt64 ? 8L * Int64s.Length : 4L * Floats.Length;

    public static SafetensorsTensor Of(string name, StateTensor tensor) =>
        new(name, tensor.Shape.ToArray(), tensor.FloatMemory, tensor.Int64Memory, tensor.DType == TensorDType.I64);
}
