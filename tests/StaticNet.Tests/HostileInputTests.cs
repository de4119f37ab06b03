using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using CsCheck;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>
/// Corrupt and hostile files: every reader throws its documented exception with a message saying what is wrong
/// (InvalidDataException for malformed files, StateDictMismatchException for well-formed files of another network),
/// never anything else, and never allocates from a claimed size it has not checked against the file.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hostile").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] File(string header, byte[] data, ulong? claimedLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    public static TheoryData<string, byte[], string> BadSafetensors => new()
    {
        { "short", [1, 2, 3], "the file holds 3 bytes, too few for the 8-byte header length." },
        { "header past the end", File("{}", [], claimedLength: 1000), "the header claims 1000 bytes, but only 2 follow the length." },
        { "huge header", File("{}", [], claimedLength: ulong.MaxValue), "the header claims 18446744073709551615 bytes, more than the 100000000 allowed." },
        { "malformed json", File("{\"a\": ", []), "the header is not valid JSON" },
        { "not an object", File("[1, 2]", []), "the header must be a JSON object." },
        { "unknown dtype", File("""{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "'w' has unknown dtype 'F33'." },
        { "negative dimension", File("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", new byte[4]), "'w' has an invalid dimension -1" },
        { "overflowing shape", File("""{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""", new byte[4]), "whose size overflows." },
        { "reversed offsets", File("""{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}""", new byte[4]), "'w' has data_offsets [4, 0] that end before they begin." },
        { "size mismatch", File("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", new byte[4]), "'w' is F32 of shape [2], 8 bytes, but its data_offsets span 4." },
        { "overlap", File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "overlaps the tensor before it" },
        { "gap", File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "bytes [0, 4) of the data belong to no tensor." },
        { "truncated", File("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", new byte[8]), "runs past the end of the data (8 bytes): the file is truncated." },
        { "uncovered tail", File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[8]), "the data section holds 8 bytes, but the tensors cover 4." },
        { "duplicate names", File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", new byte[8]), "the name 'a' appears twice in the header." },
        { "bad metadata", File("""{"__metadata__":{"k":1}}""", []), "__metadata__ entry 'k' must be a string." },
        { "invalid utf-8", File("{\"\u00ff\":1}", []).Select((b, i) => i == 10 ? (byte)0xFF : b).ToArray(), "the header is not valid UTF-8." },
        { "negative offset", File("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", []), "'a' has an invalid data offset -4." },
    };

    [Theory]
    [MemberData(nameof(BadSafetensors))]
    public void Malformed_safetensors_files_are_rejected_with_a_reason(string what, byte[] bytes, string message)
    {
        string path = Path.Combine(_dir, what.Replace(' ', '_') + ".safetensors");
        System.IO.File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path + ": not a valid safetensors file: ", e.Message);
    }

    [Fact]
    public void Tensors_of_other_dtypes_are_reported_not_loaded()
    {
        string path = Path.Combine(_dir, "ints.safetensors");
        System.IO.File.WriteAllBytes(path, File("""{"0.weight":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}""", new byte[24]));
        var e = Assert.Throws<StateDictMismatchException>(() => Safetensors.Load(new Outer.Nested(1), path));
        Assert.Equal(["0.weight is I32 in the file, but F32 tensors load from F32, F16, BF16 or F64"], e.Result.ShapeMismatches);
    }

    /// <summary>A random change to a valid file: flip a byte, truncate, or overwrite a run of bytes (mostly in the header).</summary>
    private static Gen<(int Kind, int Position, byte Value, int Length)> Mutation(int fileLength) =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, fileLength - 1], Gen.Byte, Gen.Int[1, 16]);

    private static byte[] Apply(byte[] original, (int Kind, int Position, byte Value, int Length) m)
    {
        switch (m.Kind)
        {
            case 0:
            {
                byte[] copy = (byte[])original.Clone();
                copy[m.Position] ^= (byte)(m.Value | 1);
                return copy;
            }
            case 1:
                return original.AsSpan(0, m.Position).ToArray();
            default:
            {
                byte[] copy = (byte[])original.Clone();
                int start = m.Position % Math.Min(original.Length, 600); // the header and the start of the data
                for (int i = start; i < Math.Min(copy.Length, start + m.Length); i++) copy[i] = (byte)(m.Value + i);
                return copy;
            }
        }
    }

    private void Fuzz(byte[] original, Action<string> read, int iterations)
    {
        Mutation(original.Length).Sample(m =>
        {
            string path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
            System.IO.File.WriteAllBytes(path, Apply(original, m));
            try
            {
                read(path);
            }
            catch (Exception e) when (e is InvalidDataException or StateDictMismatchException)
            {
            }
            finally
            {
                System.IO.File.Delete(path);
            }
        }, iter: iterations);
    }

    [Fact]
    public void Mutated_weight_files_only_ever_raise_the_documented_exceptions()
    {
        byte[] original = System.IO.File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "weights_f32.safetensors"));
        Fuzz(original, path => Safetensors.Load(new Interchange(1), path, strict: false), 4000);
    }

    [Fact]
    public void Mutated_onnx_files_only_ever_raise_the_documented_exceptions()
    {
        byte[] original = System.IO.File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "bn_mlp.onnx"));
        Fuzz(original, path => Onnx.LoadWeights(new BnMlp(1), path, strict: false), 4000);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A }, "the protobuf is malformed")]
    [InlineData(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }, "the protobuf is malformed")]
    [InlineData(new byte[] { 0x08, 0x08 }, "the model has no graph.")]
    public void Malformed_onnx_files_are_rejected_with_a_reason(byte[] bytes, string message)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".onnx");
        System.IO.File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Onnx.LoadWeights(new BnMlp(1), path));
        Assert.StartsWith(path + ": not a valid ONNX model: " + message, e.Message);
    }

    [Fact]
    public void Mutated_checkpoints_only_ever_raise_the_documented_exceptions()
    {
        var net = new DropoutMlp(4, 1);
        var adam = new Adam(net.Parameters());
        adam.Step();
        string path = Path.Combine(_dir, "valid.ckpt");
        Checkpoint.Save(path, net, adam, epoch: 3, generators: [new RandomGenerator(2)]);
        byte[] original = System.IO.File.ReadAllBytes(path);
        Fuzz(original, p =>
        {
            var target = new DropoutMlp(4, 1);
            Checkpoint.Load(p, target, new Adam(target.Parameters()), null, [new RandomGenerator()]);
        }, 4000);
    }

    [Fact]
    public void Mutated_idx_files_only_ever_raise_invalid_data()
    {
        byte[] plain = [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, .. Enumerable.Range(0, 12).Select(i => (byte)(i * 20))];
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(plain);
        foreach (byte[] original in new[] { plain, packed.ToArray() })
        {
            Mutation(original.Length).Sample(m =>
            {
                try
                {
                    IdxArray array = Idx.Read(new MemoryStream(Apply(original, m)), "fuzz");
                    Assert.Equal(array.Data.Length, array.Dimensions.Aggregate(1L, (a, b) => a * b));
                }
                catch (InvalidDataException)
                {
                }
            }, iter: 4000);
        }
    }
}
