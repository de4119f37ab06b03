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

    /// <summary>The most data bytes an IDX array may declare (1 GiB; Fashion-MNIST's training images take 47 MB).</summary>
    public const long MaxDataBytes = 1L << 30;

    /// <summary>
    /// Reads an IDX array of unsigned bytes from a stream; <paramref name="name"/> names it in messages. The header is read
    /// first and then at most the bytes it declares, plus one to detect trailing data, so that a small gzip stream that
    /// inflates to gigabytes costs no more memory than the data its header declares (and that within <see cref="MaxDataBytes"/>).
    /// </summary>
    public static IdxArray Read(Stream stream, string name = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        var magic = new byte[2];
        int got = ReadUpTo(stream, magic, name, gzip: false);
        bool gzip = got == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        Stream source = new PrefixedStream(magic.AsMemory(0, got), stream);
        if (gzip) source = new GZipStream(source, CompressionMode.Decompress);
        using (gzip ? source : null)
        {
            return ReadArray(source, name, gzip);
        }
    }

    private static IdxArray ReadArray(Stream source, string name, bool gzip)
    {
        var start = new byte[4];
        int got = ReadUpTo(source, start, name, gzip);
        if (got < 4) throw new InvalidDataException($"{name}: the file holds {got} bytes, too few for an IDX header (at least 4).");
        if (start[0] != 0 || start[1] != 0)
        {
            throw new InvalidDataException($"{name}: wrong magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(start):X8}: an IDX file starts with two zero bytes, a type byte and a dimension count.");
        }
        if (start[2] != UnsignedByte)
        {
            throw new InvalidDataException($"{name}: IDX element type 0x{start[2]:X2} is not supported: expected 0x08 (unsigned byte), as in MNIST and Fashion-MNIST.");
        }
        int rank = start[3];
        if (rank == 0) throw new InvalidDataException($"{name}: the IDX header declares 0 dimensions.");
        int headerLength = 4 + 4 * rank;
        var sizes = new byte[4 * rank];
        got = ReadUpTo(source, sizes, name, gzip);
        if (got < sizes.Length)
        {
            throw new InvalidDataException($"{name}: truncated header: {rank} dimensions need {headerLength} bytes, but the file holds {4 + got}.");
        }
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(sizes.AsSpan(4 * i));
            if (d > int.MaxValue) throw new InvalidDataException($"{name}: dimension {i} is {d}, larger than any array.");
            dims[i] = (int)d;
            count = d == 0 || count <= long.MaxValue / 2 / d ? count * d : long.MaxValue / 2; // saturate instead of overflowing
        }
        string shape = string.Join(" x ", dims);
        if (count > MaxDataBytes)
        {
            throw new InvalidDataException($"{name}: the header declares {shape} = {count} bytes of data, more than the {MaxDataBytes} this reader accepts.");
        }
        // Grow the buffer as data arrives (never more than twice what arrived), so a false claim costs nothing.
        byte[] data = new byte[Math.Min(count, 1 << 16)];
        long filled = 0;
        while (filled < count)
        {
            if (filled == data.Length) Array.Resize(ref data, (int)Math.Min(count, 2L * data.Length));
            int read = ReadUpTo(source, data.AsSpan((int)filled, (int)(Math.Min(count, data.Length) - filled)), name, gzip);
            if (read == 0) throw new InvalidDataException($"{name}: truncated: the header declares {shape} = {count} bytes of data, but the file holds {filled}.");
            filled += read;
        }
        if (ReadUpTo(source, new byte[1], name, gzip) > 0)
        {
            throw new InvalidDataException($"{name}: the header declares {shape} = {count} bytes of data, but the file holds more (extra bytes at the end).");
        }
        return new IdxArray(dims, data);
    }

    /// <summary>Fills <paramref name="buffer"/> unless the stream ends first; returns the bytes read. Corrupt gzip data is an InvalidDataException naming the file.</summary>
    private static int ReadUpTo(Stream stream, Span<byte> buffer, string name, bool gzip)
    {
        try
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = stream.Read(buffer.Slice(total));
                if (n == 0) break;
                total += n;
            }
            return total;
        }
        catch (InvalidDataException e) when (gzip)
        {
            throw new InvalidDataException($"{name}: the gzip data is corrupt ({e.Message}).", e);
        }
    }

    /// <summary>A few bytes already read from a stream, then the rest of it: lets the reader look at the start without seeking.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override int Read(Span<byte> buffer)
        {
            if (_prefix.IsEmpty) return rest.Read(buffer);
            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span.Slice(0, n).CopyTo(buffer);
            _prefix = _prefix.Slice(n);
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
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
        if (images.Dimensions.Length < 2 || images.Data.Length == 0)
        {
            throw new InvalidDataException($"{imagesPath}: images of shape {string.Join(" x ", images.Dimensions)} have no pixels: expected a count and at least one nonzero size per image, as 60000 x 28 x 28.");
        }
        var features = new float[images.Data.Length];
        for (int i = 0; i < features.Length; i++) features[i] = images.Data[i] / 255f;
        var targets = new int[count];
        for (int i = 0; i < count; i++) targets[i] = labels.Data[i];
        return new Dataset<int>(features, targets, images.Data.Length / count);
    }

}
