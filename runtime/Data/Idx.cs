using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace StaticNet;

/// <summary>An array read from an IDX file: its dimensions and its unsigned bytes, row-major.</summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data);

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed, told apart by content, not by name).
/// A malformed file throws <see cref="InvalidDataException"/> saying what is wrong; nothing is allocated from a size
/// the header claims before the file is known to hold that much.
/// </summary>
public static class Idx
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Reads an IDX file of unsigned bytes.</summary>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream file = File.OpenRead(path);
        return Read(file, path);
    }

    /// <summary>Reads an IDX array of unsigned bytes from a stream; <paramref name="name"/> names it in messages.</summary>
    public static IdxArray Read(Stream stream, string name = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes = ReadAll(stream);
        if (bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B)
        {
            try
            {
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                bytes = ReadAll(gzip);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{name}: the gzip data is corrupt ({e.Message}).", e);
            }
        }
        if (bytes.Length < 4) throw new InvalidDataException($"{name}: the file holds {bytes.Length} bytes, too few for an IDX header (at least 4).");
        if (bytes[0] != 0 || bytes[1] != 0)
        {
            throw new InvalidDataException($"{name}: wrong magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(bytes):X8}: an IDX file starts with two zero bytes, a type byte and a dimension count.");
        }
        if (bytes[2] != UnsignedByte)
        {
            throw new InvalidDataException($"{name}: IDX element type 0x{bytes[2]:X2} is not supported: expected 0x08 (unsigned byte), as in MNIST and Fashion-MNIST.");
        }
        int rank = bytes[3];
        if (rank == 0) throw new InvalidDataException($"{name}: the IDX header declares 0 dimensions.");
        int headerLength = 4 + 4 * rank;
        if (bytes.Length < headerLength)
        {
            throw new InvalidDataException($"{name}: truncated header: {rank} dimensions need {headerLength} bytes, but the file holds {bytes.Length}.");
        }
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (d > int.MaxValue) throw new InvalidDataException($"{name}: dimension {i} is {d}, larger than any array.");
            dims[i] = (int)d;
            count = d == 0 || count <= long.MaxValue / 2 / d ? count * d : long.MaxValue / 2; // saturate instead of overflowing
        }
        long available = bytes.Length - headerLength;
        if (count != available)
        {
            string shape = string.Join(" x ", dims);
            throw new InvalidDataException(count > available
                ? $"{name}: truncated: the header declares {shape} = {count} bytes of data, but the file holds {available}."
                : $"{name}: the header declares {shape} = {count} bytes of data, but the file holds {available} (extra bytes at the end).");
        }
        return new IdxArray(dims, bytes.AsSpan(headerLength).ToArray());
    }

    /// <summary>
    /// Loads an image file and a label file into a classification dataset (as torchvision's FashionMNIST with ToTensor):
    /// pixels scaled to [0, 1], one int label per image.
    /// </summary>
    public static Dataset<int> LoadDataset(string imagesPath, string labelsPath) =>
        ToDataset(Read(imagesPath), Read(labelsPath), imagesPath, labelsPath);

    /// <summary>As <see cref="LoadDataset"/>, from arrays already read; the names label messages.</summary>
    public static Dataset<int> ToDataset(IdxArray images, IdxArray labels, string imagesPath = "images", string labelsPath = "labels")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Dimensions.Length != 1)
        {
            throw new InvalidDataException($"{labelsPath}: labels must have 1 dimension, but the file has {labels.Dimensions.Length}.");
        }
        if (images.Dimensions[0] != labels.Dimensions[0])
        {
            throw new InvalidDataException($"{imagesPath} holds {images.Dimensions[0]} images but {labelsPath} holds {labels.Dimensions[0]} labels.");
        }
        int count = images.Dimensions[0];
        if (count == 0) throw new InvalidDataException($"{imagesPath}: the file holds no images.");
        var features = new float[images.Data.Length];
        for (int i = 0; i < features.Length; i++) features[i] = images.Data[i] / 255f;
        var targets = new int[count];
        for (int i = 0; i < count; i++) targets[i] = labels.Data[i];
        return new Dataset<int>(features, targets, images.Data.Length / count);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
