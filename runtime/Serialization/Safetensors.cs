using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace StaticNet;

/// <summary>
/// Writes a module's parameters in the safetensors format PyTorch users share weights in (8-byte little-endian header
/// length, a JSON header of name -> dtype, shape, data offsets, then the raw little-endian data), under their
/// state_dict names and shapes, so that <c>safetensors.torch.load_file</c> and <c>load_state_dict</c> take them as they are.
/// </summary>
public static class Safetensors
{
    /// <summary>
    /// Saves every parameter of <paramref name="module"/> as F32 to <paramref name="path"/>. The file is written to a temporary
    /// file beside it, flushed to disk and then renamed over the target, so a crash never leaves a half-written file there.
    /// </summary>
    public static void Save(Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrEmpty(path);
        (string Name, Parameter Parameter)[] tensors = module.NamedParameters().ToArray();

        using var headerBuffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerBuffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            foreach ((string name, Parameter p) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in p.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset += 4L * p.Numel);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // The data section starts 8-byte aligned: the header is padded with spaces, as the format allows.
        int padding = (int)(-headerBuffer.Length & 7);
        for (int i = 0; i < padding; i++) headerBuffer.WriteByte((byte)' ');

        string fullPath = Path.GetFullPath(path);
        string temporary = fullPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBuffer.Length);
                file.Write(length);
                headerBuffer.Position = 0;
                headerBuffer.CopyTo(file);
                foreach ((string _, Parameter p) in tensors) WriteLittleEndian(file, p.Data);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
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
