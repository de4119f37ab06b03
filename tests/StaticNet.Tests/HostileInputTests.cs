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
        { "lone surrogate name", File("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "the header holds a string that is not valid Unicode" },
        { "lone surrogate dtype", File("""{"a":{"dtype":"\udc00","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "the header holds a string that is not valid Unicode" },
        { "lone surrogate metadata", File("""{"__metadata__":{"k":"\ud800x"}}""", []), "the header holds a string that is not valid Unicode" },
        { "duplicate field", File("""{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}""", new byte[4]), "'a' has the field 'dtype' twice." },
        { "duplicate metadata key", File("""{"__metadata__":{"k":"1","k":"2"}}""", []), "__metadata__ has the key 'k' twice." },
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
    public void A_load_while_another_thread_replaces_the_file_sees_one_whole_save()
    {
        // FashionMlp's 800 KB of weights: a load takes long enough for saves to land in the middle of it.
        string path = Path.Combine(_dir, "raced.safetensors");
        var first = new FashionMlp(1, 1);
        var second = new FashionMlp(1, 2);
        Safetensors.Save(first, path);
        float[] a = first.Parameters().SelectMany(p => p.Data.ToArray()).ToArray(), b = second.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        using var stop = new System.Threading.CancellationTokenSource();
        var saver = new System.Threading.Thread(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++) Safetensors.Save(i % 2 == 0 ? second : first, path);
        });
        saver.Start();
        try
        {
            var target = new FashionMlp(1, 3);
            for (int i = 0; i < 200; i++)
            {
                Safetensors.Load(target, path);
                float[] loaded = target.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
                Assert.True(loaded.AsSpan().SequenceEqual(a) || loaded.AsSpan().SequenceEqual(b), $"load {i} mixed tensors of two saves");
            }
        }
        finally
        {
            stop.Cancel();
            saver.Join();
        }
    }

    [Fact]
    public void A_save_removes_the_temporary_files_of_killed_saves_and_leaves_live_ones()
    {
        string path = Path.Combine(_dir, "weights.safetensors");
        string prefix = Path.Combine(_dir, AtomicFile.TemporaryPrefix(path));
        string stale = prefix + "killed.tmp", recent = prefix + "running.tmp", held = prefix + "held.tmp", other = Path.Combine(_dir, "notes.tmp");
        foreach (string file in new[] { stale, recent, held, other }) System.IO.File.WriteAllBytes(file, new byte[1000]);
        foreach (string file in new[] { stale, held, other }) System.IO.File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-5));
        using (new FileStream(held, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            Safetensors.Save(new MlpRelu(1, 1), path);
        }
        Assert.False(System.IO.File.Exists(stale));
        Assert.True(System.IO.File.Exists(recent)); // a save still writing (or just started)
        Assert.True(System.IO.File.Exists(held)); // a save holding its file open
        Assert.True(System.IO.File.Exists(other)); // not ours
        Assert.Equal(["held", "running"], Directory.GetFiles(_dir, Path.GetFileName(prefix) + "*").Select(f => Path.GetFileNameWithoutExtension(f).Substring(Path.GetFileName(prefix).Length)).Order());
    }

    [Fact]
    public void A_save_takes_any_legal_file_name_writes_through_a_link_and_names_the_users_path_on_failure()
    {
        string longName = new string('w', 242) + ".st"; // 245 characters: a temporary name built on it would pass 255
        var net = new MlpRelu(1, 1);
        Safetensors.Save(net, Path.Combine(_dir, longName));
        Assert.Equal(net.Parameters().SelectMany(p => p.Data.ToArray()), Loaded(Path.Combine(_dir, longName)));

        string target = Path.Combine(_dir, "real.safetensors"), link = Path.Combine(_dir, "link.safetensors");
        Safetensors.Save(new MlpRelu(1, 2), target);
        System.IO.File.CreateSymbolicLink(link, target);
        Safetensors.Save(net, link);
        Assert.Equal(target, new FileInfo(link).LinkTarget);
        Assert.Equal(net.Parameters().SelectMany(p => p.Data.ToArray()), Loaded(target));

        string missing = Path.Combine(_dir, "no-such-folder", "w.safetensors");
        var e = Assert.ThrowsAny<IOException>(() => Safetensors.Save(net, missing));
        Assert.StartsWith($"Could not write '{missing}': ", e.Message);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));

        static float[] Loaded(string path)
        {
            var copy = new MlpRelu(1, 9);
            Safetensors.Load(copy, path);
            return copy.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
        }
    }

    [Fact]
    public void An_empty_tensor_may_be_listed_after_one_at_the_same_offset()
    {
        string path = Path.Combine(_dir, "empty-after.safetensors");
        System.IO.File.WriteAllBytes(path, File("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}""", new byte[8]));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal(["e", "a"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Tensors_of_other_dtypes_are_reported_not_loaded()
    {
        string path = Path.Combine(_dir, "ints.safetensors");
        System.IO.File.WriteAllBytes(path, File("""{"0.weight":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}""", new byte[24]));
        var e = Assert.Throws<StateDictMismatchException>(() => Safetensors.Load(new Outer.Nested(1), path));
        Assert.Equal(["0.weight is I32 in the file, but F32 tensors load from F32, F16, BF16 or F64"], e.Result.ShapeMismatches);
    }

    /// <summary>
    /// A random change to a valid file: flip a byte, truncate, overwrite a run of bytes (mostly in the header), or, in a
    /// safetensors header, splice in a JSON fragment (lone surrogate escapes, quotes, a repeated field, an extra tensor)
    /// with the header length adjusted so that the parser reads it.
    /// </summary>
    private static Gen<(int Kind, int Position, byte Value, int Length)> Mutation(int fileLength) =>
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, fileLength - 1], Gen.Byte, Gen.Int[1, 16]);

    private static readonly string[] Fragments =
    [
        "\\ud800", "\\udfff", "\\u0000", "\\\"", "\\\\", "\"dtype\":\"F32\",", "\"shape\":[1],", "\"data_offsets\":[0,0],",
        "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},", "\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"},", "{", "}", ",", "[",
    ];

    private static byte[] Apply(byte[] original, (int Kind, int Position, byte Value, int Length) m)
    {
        long headerLength = original.Length > 9 ? BitConverter.ToInt64(original, 0) : -1;
        if (m.Kind == 3 && headerLength > 0 && headerLength <= original.Length - 8 && original[8] == (byte)'{')
        {
            byte[] fragment = Encoding.UTF8.GetBytes(Fragments[m.Value % Fragments.Length]);
            int at = 8 + 1 + m.Position % (int)(headerLength - 1);
            byte[] spliced = [.. original.AsSpan(0, at), .. fragment, .. original.AsSpan(at)];
            BitConverter.TryWriteBytes(spliced.AsSpan(0, 8), headerLength + fragment.Length);
            return spliced;
        }
        switch (m.Kind)
        {
            case 0:
            case 3: // a splice where there is no safetensors header: a flipped byte
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
