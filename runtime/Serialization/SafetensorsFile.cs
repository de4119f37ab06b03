using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace StaticNet;

/// <summary>One tensor's entry in a safetensors header: its dtype, shape and byte range within the data section.</summary>
public sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A safetensors file, opened and fully validated before any tensor is read: 8-byte little-endian header length,
/// a JSON header of name -> {dtype, shape, data_offsets} (and optional string __metadata__), then the data. Every
/// malformed or hostile file throws <see cref="InvalidDataException"/> with a message saying what is wrong; sizes
/// claimed by the header are checked against the file's real length before anything is allocated from them. The file
/// is read through the one handle <see cref="Open"/> takes, so a load sees one version of the file even while another
/// process replaces it (as <see cref="Safetensors.Save"/> does, by renaming a new file over it); dispose to close it.
/// </summary>
public sealed class SafetensorsFile : IStateSource, IDisposable
{
    /// <summary>The largest header accepted (as the reference implementation: 100 MB).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private static readonly Dictionary<string, int> DTypeSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2,
        ["BF16"] = 2, ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };

    private readonly string _path;
    private readonly SafeFileHandle _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, TensorInfo> _byName;

    private SafetensorsFile(string path, SafeFileHandle file, long dataStart, IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _path = path;
        _file = file;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal); // names are unique: checked while parsing
    }

    /// <summary>The tensors, in data order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The string-to-string __metadata__ (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Opens and validates <paramref name="path"/>; reads the header only, and keeps the file open until disposed.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long length = RandomAccess.GetLength(file);
            if (length < 8) throw Bad(path, $"the file holds {length} bytes, too few for the 8-byte header length.");
            Span<byte> prefix = stackalloc byte[8];
            ReadAt(file, path, prefix, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderLength) throw Bad(path, $"the header claims {headerLength} bytes, more than the {MaxHeaderLength} allowed.");
            if ((long)headerLength > length - 8) throw Bad(path, $"the header claims {headerLength} bytes, but only {length - 8} follow the length.");
            byte[] header = new byte[headerLength];
            ReadAt(file, path, header, 8);
            long dataStart = 8 + (long)headerLength;
            (List<TensorInfo> tensors, Dictionary<string, string> metadata) = ParseHeader(path, header);
            CheckCoverage(path, tensors, length - dataStart);
            return new SafetensorsFile(path, file, dataStart, tensors, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Feeds the data section (everything after the header), as the file holds it, to <paramref name="hash"/>.</summary>
    internal void HashData(System.Security.Cryptography.IncrementalHash hash)
    {
        long end = _dataStart + (Tensors.Count == 0 ? 0 : Tensors[^1].End);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (long offset = _dataStart; offset < end;)
            {
                Span<byte> bytes = chunk.AsSpan(0, (int)Math.Min(chunk.Length, end - offset));
                ReadAt(_file, _path, bytes, offset);
                hash.AppendData(bytes);
                offset += bytes.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; a file that ends first is an InvalidDataException.</summary>
    private static void ReadAt(SafeFileHandle file, string path, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int n = RandomAccess.Read(file, buffer, offset);
            if (n == 0) throw Bad(path, "the file became shorter while it was read.");
            buffer = buffer.Slice(n);
            offset += n;
        }
    }

    /// <summary>Reads a floating-point tensor (F32, F16, BF16 or F64) into <paramref name="destination"/>, converting to float.</summary>
    public void ReadFloats(TensorInfo tensor, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!IsFloatingPoint(tensor.DType))
        {
            throw new InvalidDataException($"'{tensor.Name}' has dtype {tensor.DType}, which cannot be read as float: expected F32, F16, BF16 or F64.");
        }
        if (tensor.DType == "F32" && BitConverter.IsLittleEndian)
        {
            ReadAt(_file, _path, MemoryMarshal.AsBytes(destination), Start(tensor, destination.Length));
            return;
        }
        Read(tensor, destination, static (t, bytes, values) => ConvertFloats(t, bytes, values));
    }

    /// <summary>Reads an integer tensor (I64 or I32) into <paramref name="destination"/>.</summary>
    public void ReadInt64s(TensorInfo tensor, Span<long> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!IsInteger(tensor.DType))
        {
            throw new InvalidDataException($"'{tensor.Name}' has dtype {tensor.DType}, which cannot be read as I64: expected I64 or I32.");
        }
        Read(tensor, destination, static (t, bytes, values) =>
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = t.DType == "I64" ? BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(8 * i)) : BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4 * i));
            }
        });
    }

    /// <summary>Whether a dtype can be read as float.</summary>
    public static bool IsFloatingPoint(string dtype) => StateDictLoader.IsFloatingPoint(dtype);

    /// <summary>Whether a dtype can be read as a 64-bit integer.</summary>
    public static bool IsInteger(string dtype) => StateDictLoader.IsInteger(dtype);

    IEnumerable<string> IStateSource.Names => Tensors.Select(t => t.Name);

    bool IStateSource.TryFind(string name, out IReadOnlyList<int> shape, out string dtype)
    {
        TensorInfo? tensor = Find(name);
        shape = tensor?.Shape ?? [];
        dtype = tensor?.DType ?? "";
        return tensor is not null;
    }

    void IStateSource.ReadFloats(string name, Span<float> destination) => ReadFloats(_byName[name], destination);

    void IStateSource.ReadInt64s(string name, Span<long> destination) => ReadInt64s(_byName[name], destination);

    private delegate void Converter<T>(TensorInfo tensor, ReadOnlySpan<byte> bytes, Span<T> values);

    /// <summary>Reads a tensor's bytes a chunk at a time and converts each chunk into the destination.</summary>
    private void Read<T>(TensorInfo tensor, Span<T> destination, Converter<T> convert)
    {
        long offset = Start(tensor, destination.Length);
        int size = DTypeSizes[tensor.DType];
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int done = 0;
            while (done < destination.Length)
            {
                int count = Math.Min(destination.Length - done, chunk.Length / size);
                Span<byte> bytes = chunk.AsSpan(0, count * size);
                ReadAt(_file, _path, bytes, offset);
                offset += bytes.Length;
                convert(tensor, bytes, destination.Slice(done, count));
                done += count;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Where the tensor's data starts in the file, after checking the destination's size.</summary>
    private long Start(TensorInfo tensor, int destinationLength)
    {
        if (destinationLength != tensor.Numel)
        {
            throw new ArgumentException($"'{tensor.Name}' holds {tensor.Numel} elements, but the destination holds {destinationLength}.", "destination");
        }
        return _dataStart + tensor.Begin;
    }

    private static void ConvertFloats(TensorInfo tensor, ReadOnlySpan<byte> bytes, Span<float> destination)
    {
        switch (tensor.DType)
        {
            case "F32":
                for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * i));
                break;
            case "F16":
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(2 * i));
                break;
            case "BF16":
                for (int i = 0; i < destination.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i)) << 16);
                break;
            default:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.Slice(8 * i));
                break;
        }
    }

    private static (List<TensorInfo>, Dictionary<string, string>) ParseHeader(string path, byte[] header)
    {
        // JsonDocument accepts invalid UTF-8 inside strings and only fails when a name is read; check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Bad(path, "the header is not valid UTF-8.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"the header is not valid JSON ({e.Message}).", e);
        }
        using (document)
        {
            try
            {
                return ParseEntries(path, document);
            }
            catch (InvalidOperationException e)
            {
                // JSON escapes can spell UTF-16 that no string may hold (a lone surrogate, as "\ud800").
                throw Bad(path, $"the header holds a string that is not valid Unicode ({e.Message}).", e);
            }
        }
    }

    private static (List<TensorInfo>, Dictionary<string, string>) ParseEntries(string path, JsonDocument document)
    {
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "the header must be a JSON object.");
            var tensors = new List<TensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name)) throw Bad(path, $"the name '{entry.Name}' appears twice in the header.");
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ must be an object of strings.");
                    foreach (JsonProperty item in entry.Value.EnumerateObject())
                    {
                        if (item.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"__metadata__ entry '{item.Name}' must be a string.");
                        if (!metadata.TryAdd(item.Name, item.Value.GetString()!)) throw Bad(path, $"__metadata__ has the key '{item.Name}' twice.");
                    }
                    continue;
                }
                tensors.Add(ParseTensor(path, entry));
            }
            // By start, then end: an empty tensor at [0, 0] comes before one at [0, 8] wherever the header lists it.
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            return (tensors, metadata);
        }
    }

    private static TensorInfo ParseTensor(string path, JsonProperty entry)
    {
        string name = entry.Name;
        if (entry.Value.ValueKind != JsonValueKind.Object) throw Bad(path, $"the entry for '{name}' must be an object.");
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty field in entry.Value.EnumerateObject())
        {
            if (!fields.Add(field.Name)) throw Bad(path, $"'{name}' has the field '{field.Name}' twice."); // as the reference implementation (serde)
        }
        if (!entry.Value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Bad(path, $"'{name}' has no dtype string.");
        }
        string dtype = dtypeElement.GetString()!;
        if (!DTypeSizes.TryGetValue(dtype, out int size)) throw Bad(path, $"'{name}' has unknown dtype '{dtype}'.");
        if (!entry.Value.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Bad(path, $"'{name}' has no shape array.");
        }
        var shape = new List<int>();
        long numel = 1;
        foreach (JsonElement d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0 || dim > int.MaxValue)
            {
                throw Bad(path, $"'{name}' has an invalid dimension {d.GetRawText()}: dimensions are whole numbers from 0 to {int.MaxValue}.");
            }
            shape.Add((int)dim);
            if (dim != 0 && numel > long.MaxValue / size / dim) throw Bad(path, $"'{name}' has a shape [{string.Join(", ", shape)}...] whose size overflows.");
            numel *= dim;
        }
        if (!entry.Value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw Bad(path, $"'{name}' needs data_offsets [begin, end].");
        }
        long begin = Offset(path, name, offsets[0]), end = Offset(path, name, offsets[1]);
        if (end < begin) throw Bad(path, $"'{name}' has data_offsets [{begin}, {end}] that end before they begin.");
        if (end - begin != numel * size)
        {
            throw Bad(path, $"'{name}' is {dtype} of shape [{string.Join(", ", shape)}], {numel * size} bytes, but its data_offsets span {end - begin}.");
        }
        return new TensorInfo(name, dtype, shape.ToArray(), begin, end);
    }

    private static long Offset(string path, string name, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out long value) || value < 0)
        {
            throw Bad(path, $"'{name}' has an invalid data offset {element.GetRawText()}.");
        }
        return value;
    }

    /// <summary>The tensors must tile the data section exactly: in order, without gaps or overlaps, to its last byte.</summary>
    private static void CheckCoverage(string path, List<TensorInfo> tensors, long dataLength)
    {
        long position = 0;
        foreach (TensorInfo t in tensors)
        {
            if (t.Begin < position) throw Bad(path, $"'{t.Name}' at bytes [{t.Begin}, {t.End}) overlaps the tensor before it, which ends at {position}.");
            if (t.Begin > position) throw Bad(path, $"bytes [{position}, {t.Begin}) of the data belong to no tensor.");
            if (t.End > dataLength) throw Bad(path, $"'{t.Name}' at bytes [{t.Begin}, {t.End}) runs past the end of the data ({dataLength} bytes): the file is truncated.");
            position = t.End;
        }
        if (position != dataLength) throw Bad(path, $"the data section holds {dataLength} bytes, but the tensors cover {position}.");
    }

    private static InvalidDataException Bad(string path, string message, Exception? inner = null) =>
        new($"{path}: not a valid safetensors file: {message}", inner);
}
