using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public class DataTests
{
    private static Dataset<int> Numbered(int count) =>
        new(Enumerable.Range(0, count * 2).Select(i => (float)(i / 2)).ToArray(), Enumerable.Range(0, count).ToArray(), 2);

    private static List<int[]> Epoch(DataLoader<int> loader)
    {
        var batches = new List<int[]>();
        foreach (Batch<int> batch in loader)
        {
            Assert.Equal(batch.Size, batch.Targets.Length);
            for (int i = 0; i < batch.Size; i++) Assert.Equal(batch.Targets[i], (int)batch.Features[2 * i]);
            batches.Add(batch.Targets.ToArray());
        }
        return batches;
    }

    [Fact]
    public void Loader_yields_every_sample_once_per_epoch_in_batches()
    {
        var loader = new DataLoader<int>(Numbered(10), 4);
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], Epoch(loader));
        Assert.Equal(3, loader.BatchCount);
        var dropping = new DataLoader<int>(Numbered(10), 4, dropLast: true);
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7]], Epoch(dropping));
        Assert.Equal(2, dropping.BatchCount);
    }

    [Fact]
    public void Shuffle_draws_a_new_permutation_each_epoch_from_the_seed()
    {
        var a = new DataLoader<int>(Numbered(50), 8, shuffle: true, seed: 4);
        var b = new DataLoader<int>(Numbered(50), 8, shuffle: true, seed: 4);
        int[] first = Epoch(a).SelectMany(x => x).ToArray(), second = Epoch(a).SelectMany(x => x).ToArray();
        Assert.Equal(Enumerable.Range(0, 50), first.Order());
        Assert.Equal(Enumerable.Range(0, 50), second.Order());
        Assert.NotEqual(first, second);
        Assert.NotEqual(Enumerable.Range(0, 50), first);
        Assert.Equal(first, Epoch(b).SelectMany(x => x).ToArray());
    }

    [Fact]
    public void Large_batches_gathered_on_several_threads_equal_those_gathered_on_one()
    {
        // 128 samples of 1024 floats: above the size at which the loader splits a batch's copying across threads.
        float[] features = NetworkCases.RandomFloats(300 * 1024, 3);
        var data = new Dataset<int>(features, Enumerable.Range(0, 300).ToArray(), 1024);
        List<(float[], int[])> Batches(int threads)
        {
            return NetworkCases.OnThreads(threads, () =>
            {
                var batches = new List<(float[], int[])>();
                foreach (Batch<int> batch in new DataLoader<int>(data, 128, shuffle: true, seed: 2)) batches.Add((batch.Features.ToArray(), batch.Targets.ToArray()));
                return batches;
            });
        }
        List<(float[] Features, int[] Targets)> one = Batches(1), three = Batches(3);
        Assert.Equal(3, three.Count);
        for (int b = 0; b < one.Count; b++)
        {
            Assert.Equal(one[b].Targets, three[b].Targets);
            Assert.Equal(one[b].Features, three[b].Features);
            for (int i = 0; i < three[b].Targets.Length; i++)
            {
                Assert.Equal(features.AsSpan(three[b].Targets[i] * 1024, 1024).ToArray(), three[b].Features.AsSpan(i * 1024, 1024).ToArray());
            }
        }
    }

    [Fact]
    public void Iterating_allocates_nothing()
    {
        var loader = new DataLoader<int>(Numbered(1000), 64, shuffle: true);
        float sum = 0;
        foreach (Batch<int> batch in loader) sum += batch.Features[0];
        long least = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (Batch<int> batch in loader) sum += batch.Features[0];
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, least);
        Assert.True(sum >= 0);
    }

    [Fact]
    public void Dataset_checks_its_lengths()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dataset<int>(new float[7], new int[3], 2));
        Assert.StartsWith("features hold 7 floats, which is not a multiple of the feature size 2.", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Dataset<int>(new float[8], new int[3], 2));
        Assert.StartsWith("4 samples need 4 targets (1 each), but there are 3.", e.Message);
    }

    [Fact]
    public void Cross_entropy_rejects_labels_out_of_range()
    {
        var e = Assert.Throws<LabelOutOfRangeException>(() => new CrossEntropyLoss().Forward(new float[6], [0, 3], default));
        Assert.Equal("Label 3 of sample 1 is outside the 3 classes [0, 2].", e.Message);
        Assert.Equal((3, 1, 3), (e.Label, e.Sample, e.Classes));
    }

    [Fact]
    public void A_bad_label_met_in_training_or_evaluation_is_named_by_its_dataset_index()
    {
        var random = new Random(4);
        float[] x = Enumerable.Range(0, 100 * 6).Select(_ => (float)random.NextDouble()).ToArray();
        int[] y = Enumerable.Range(0, 100).Select(i => i % 4).ToArray();
        y[70] = 4; // MlpRelu has 4 outputs: classes 0 to 3
        var data = new Dataset<int>(x, y, 6);
        var net = new MlpRelu(16, 1);
        var loader = new DataLoader<int>(data, 16, shuffle: true, seed: 3);
        var e = Assert.Throws<LabelOutOfRangeException>(() =>
            Trainer.Fit(net, loader, null, new CrossEntropyLoss(), new SGD(net.Parameters(), 0.1f), epochs: 1));
        Assert.Equal(70, e.DatasetIndex);
        Assert.Matches(@"^Label 4 of dataset sample 70 \(epoch 1, batch \d, sample \d+ of its batch\) is outside the 4 classes \[0, 3\]\.$", e.Message);
        e = Assert.Throws<LabelOutOfRangeException>(() => Trainer.Evaluate(net, new DataLoader<int>(data, 16), new CrossEntropyLoss()));
        Assert.Equal("Label 4 of dataset sample 70 (in evaluation, sample 6 of its batch) is outside the 4 classes [0, 3].", e.Message);
    }

    [Fact]
    public void Batches_tell_which_dataset_samples_they_hold()
    {
        var data = new Dataset<int>(Enumerable.Range(0, 10).Select(i => (float)i).ToArray(), Enumerable.Range(0, 10).ToArray(), 1);
        var loader = new DataLoader<int>(data, 4, shuffle: true, seed: 1);
        var seen = new System.Collections.Generic.List<int>();
        foreach (Batch<int> batch in loader)
        {
            for (int i = 0; i < batch.Size; i++)
            {
                Assert.Equal(batch.Indices[i], (int)batch.Features[i]);
                Assert.Equal(batch.Indices[i], batch.Targets[i]);
            }
            seen.AddRange(batch.Indices.ToArray());
        }
        Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        Assert.NotEqual(Enumerable.Range(0, 10), seen);
    }

    [Fact]
    public void Training_or_evaluating_on_nothing_is_refused()
    {
        var net = new MlpRelu(16, 1);
        var empty = new DataLoader<int>(new Dataset<int>([], [], 6), 16);
        var few = new DataLoader<int>(new Dataset<int>(new float[5 * 6], new int[5], 6), 16, dropLast: true);
        var some = new DataLoader<int>(new Dataset<int>(new float[20 * 6], new int[20], 6), 16);
        var sgd = new SGD(net.Parameters(), 0.1f);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, empty, null, new CrossEntropyLoss(), sgd, epochs: 1));
        Assert.StartsWith("The loader's dataset holds no samples: there is nothing to train on or evaluate.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, few, null, new CrossEntropyLoss(), sgd, epochs: 1));
        Assert.StartsWith("The loader yields no batches: its 5 samples are fewer than one batch of 16, and dropLast drops it.", e.Message);
        float[] before = net.ParameterArena.ToArray();
        Assert.Throws<ArgumentException>(() => Trainer.Fit(net, some, empty, new CrossEntropyLoss(), sgd, epochs: 1));
        Assert.Equal(before, net.ParameterArena.ToArray()); // refused before the first epoch trained
        Assert.Throws<ArgumentException>(() => Trainer.Evaluate(net, empty));
    }

    [Fact]
    public void Losses_reject_a_gradient_buffer_that_overlaps_the_input()
    {
        var logits = new float[6];
        var e = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(logits, [0, 2], logits));
        Assert.StartsWith("inputGrad overlaps input; the loss needs separate buffers.", e.Message);
    }

    [Fact]
    public void Idx_reads_the_embedded_fashion_mnist_subset()
    {
        (Dataset<int> train, Dataset<int> test) = TrainingTests.FashionSubset();
        Assert.Equal((4000, 784), (train.Count, train.FeatureSize));
        Assert.Equal(1000, test.Count);
        Assert.All(train.Targets, l => Assert.InRange(l, 0, 9));
        Assert.Equal(10, train.Targets.Distinct().Count());
        Assert.Equal(0f, train.Features.Min());
        Assert.Equal(1f, train.Features.Max());
        // The first training image of Fashion-MNIST is an ankle boot (class 9); its first test image too.
        Assert.Equal(9, train.Targets[0]);
        Assert.Equal(9, test.Targets[0]);
    }

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "too short", [0, 0], "the file holds 2 bytes, too few for an IDX header (at least 4)." },
        { "wrong magic", [0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7], "wrong magic number 0x12340801" },
        { "unsupported type", [0, 0, 0x0D, 0x01, 0, 0, 0, 1, 7, 7, 7, 7], "IDX element type 0x0D is not supported" },
        { "truncated header", [0, 0, 0x08, 0x03, 0, 0, 0, 1], "truncated header: 3 dimensions need 16 bytes, but the file holds 8." },
        { "truncated data", [0, 0, 0x08, 0x02, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3], "truncated: the header declares 2 x 3 = 6 bytes of data, but the file holds 3." },
        { "huge claim", [0, 0, 0x08, 0x03, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 1], "bytes of data, more than the 1073741824 this reader accepts." },
        { "extra data", [0, 0, 0x08, 0x01, 0, 0, 0, 1, 5, 6], "the header declares 1 = 1 bytes of data, but the file holds more (extra bytes at the end)." },
        { "corrupt gzip", [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], "the gzip data is corrupt" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Idx_rejects_malformed_files_with_a_clear_message(string what, byte[] bytes, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(bytes), what));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(what + ": ", e.Message);
    }

    [Fact]
    public void Idx_reads_no_more_than_its_header_declares_from_a_gzip_bomb()
    {
        // 10 x 10 declared, then 64 MiB of zeros: a 64 KB file. The reader stops one byte past the declared data.
        using var bomb = new MemoryStream();
        using (var gzip = new GZipStream(bomb, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write([0, 0, 8, 2, 0, 0, 0, 10, 0, 0, 0, 10]);
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++) gzip.Write(zeros);
        }
        Assert.True(bomb.Length < 1 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(bomb.ToArray()), "bomb.gz"));
        Assert.Equal("bomb.gz: the header declares 10 x 10 = 100 bytes of data, but the file holds more (extra bytes at the end).", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "the reader inflated more than it needed");

        // A claim of 900 MB with 3 bytes behind it allocates about what arrived, not what was claimed.
        using var claim = new MemoryStream();
        using (var gzip = new GZipStream(claim, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write([0, 0, 8, 1, 0x35, 0xA4, 0xE9, 0x00, 1, 2, 3]);
        before = GC.GetAllocatedBytesForCurrentThread();
        e = Assert.Throws<InvalidDataException>(() => Idx.Read(new MemoryStream(claim.ToArray()), "claim.gz"));
        Assert.Equal("claim.gz: truncated: the header declares 900000000 = 900000000 bytes of data, but the file holds 3.", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "the reader allocated from the claimed size");
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 28 }, "images of shape 2 x 0 x 28 have no pixels")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 9, 9 }, "images of shape 2 have no pixels")]
    public void Idx_datasets_refuse_images_without_pixels(byte[] images, string message)
    {
        IdxArray labels = Idx.Read(new MemoryStream([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]), "labels");
        var e = Assert.Throws<InvalidDataException>(() => Idx.ToDataset(Idx.Read(new MemoryStream(images), "images"), labels));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Idx_reads_plain_and_gzip_alike_and_checks_counts()
    {
        byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102];
        byte[] labels = [0, 0, 8, 1, 0, 0, 0, 2, 4, 7];
        byte[] threeLabels = [0, 0, 8, 1, 0, 0, 0, 3, 4, 7, 1];
        string dir = Directory.CreateTempSubdirectory("idx").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "images"), images);
            using (var gz = new GZipStream(File.Create(Path.Combine(dir, "labels.gz")), CompressionLevel.Optimal)) gz.Write(labels);
            File.WriteAllBytes(Path.Combine(dir, "three"), threeLabels);

            Dataset<int> data = Idx.LoadDataset(Path.Combine(dir, "images"), Path.Combine(dir, "labels.gz"));
            Assert.Equal([0f, 1f, 0.2f, 0.4f], data.Features);
            Assert.Equal([4, 7], data.Targets);
            Assert.Equal(2, data.FeatureSize);

            var e = Assert.Throws<InvalidDataException>(() => Idx.LoadDataset(Path.Combine(dir, "images"), Path.Combine(dir, "three")));
            Assert.EndsWith("holds 2 images but " + Path.Combine(dir, "three") + " holds 3 labels.", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
