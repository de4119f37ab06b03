using System;
using System.IO;
using System.Linq;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("checkpoint").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DataLoader<int> Loader(ulong seed)
    {
        var random = new Random(3);
        float[] x = Enumerable.Range(0, 200 * 6).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        int[] y = Enumerable.Range(0, 200).Select(i => (x[6 * i] + x[6 * i + 1] > 0 ? 1 : 0) + (x[6 * i + 2] > 0.5f ? 1 : 0)).ToArray();
        return new DataLoader<int>(new Dataset<int>(x, y, 6), 32, shuffle: true, seed: seed);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_gives_the_same_weights_bit_for_bit()
    {
        // Dropout (the network's generator), shuffling (the loader's), Adam's moments and a schedule all carry state.
        var straight = new DropoutMlp(32, 5);
        var straightLoader = Loader(8);
        var straightAdam = new Adam(straight.Parameters(), lr: 0.01f, amsgrad: true);
        var straightSchedule = new StepLR(straightAdam, stepSize: 2, gamma: 0.5f);
        Trainer.Fit(straight, straightLoader, null, new CrossEntropyLoss(), straightAdam, epochs: 6, scheduler: straightSchedule);

        var first = new DropoutMlp(32, 5);
        var firstLoader = Loader(8);
        var firstAdam = new Adam(first.Parameters(), lr: 0.01f, amsgrad: true);
        var firstSchedule = new StepLR(firstAdam, stepSize: 2, gamma: 0.5f);
        string path = Path.Combine(_dir, "run.ckpt");
        Trainer.Fit(first, firstLoader, null, new CrossEntropyLoss(), firstAdam, epochs: 3, scheduler: firstSchedule,
            onEpoch: r => Checkpoint.Save(path, first, firstAdam, r.Epoch, firstSchedule, [firstLoader.Generator]));

        // A new process would build everything afresh, with other seeds even, and restore.
        var resumed = new DropoutMlp(32, 77);
        var resumedLoader = Loader(99);
        var resumedAdam = new Adam(resumed.Parameters(), lr: 0.01f, amsgrad: true);
        var resumedSchedule = new StepLR(resumedAdam, stepSize: 2, gamma: 0.5f);
        int epoch = Checkpoint.Load(path, resumed, resumedAdam, resumedSchedule, [resumedLoader.Generator]);
        Assert.Equal(3, epoch);
        Assert.Equal(0.005f, resumedAdam.LearningRate);
        var reports = Trainer.Fit(resumed, resumedLoader, null, new CrossEntropyLoss(), resumedAdam, epochs: 3, scheduler: resumedSchedule, firstEpoch: epoch + 1);

        Assert.Equal([4, 5, 6], reports.Select(r => r.Epoch));
        Assert.Equal(straight.ParameterArena.ToArray(), resumed.ParameterArena.ToArray());
        Assert.Equal(straightAdam.ExpAvgSq.ToArray(), resumedAdam.ExpAvgSq.ToArray());
    }

    [Fact]
    public void Resuming_with_batch_norm_restores_running_statistics_and_the_batch_count_bit_for_bit()
    {
        var straight = new NormComposite(32, 5);
        var straightLoader = NormLoader(8);
        var straightSgd = new SGD(straight.Parameters(), lr: 0.05f, momentum: 0.9f);
        Trainer.Fit(straight, straightLoader, null, new CrossEntropyLoss(), straightSgd, epochs: 4);

        var first = new NormComposite(32, 5);
        var firstLoader = NormLoader(8);
        var firstSgd = new SGD(first.Parameters(), lr: 0.05f, momentum: 0.9f);
        string path = Path.Combine(_dir, "bn.ckpt");
        Trainer.Fit(first, firstLoader, null, new CrossEntropyLoss(), firstSgd, epochs: 2,
            onEpoch: r => Checkpoint.Save(path, first, firstSgd, r.Epoch, generators: [firstLoader.Generator]));

        var resumed = new NormComposite(32, 77);
        var resumedLoader = NormLoader(99);
        var resumedSgd = new SGD(resumed.Parameters(), lr: 0.05f, momentum: 0.9f);
        int epoch = Checkpoint.Load(path, resumed, resumedSgd, generators: [resumedLoader.Generator]);
        Assert.Equal(first.BufferArena.ToArray(), resumed.BufferArena.ToArray());
        Trainer.Fit(resumed, resumedLoader, null, new CrossEntropyLoss(), resumedSgd, epochs: 2, firstEpoch: epoch + 1);

        Assert.Equal(straight.ParameterArena.ToArray(), resumed.ParameterArena.ToArray());
        Assert.Equal(straight.BufferArena.ToArray(), resumed.BufferArena.ToArray());
        long[] Counts(Network net) => net.NamedBuffers().Where(b => b.Buffer.DType == TensorDType.I64).Select(b => b.Buffer.Int64Data[0]).ToArray();
        Assert.Equal(Counts(straight), Counts(resumed));
        Assert.Equal([28L, 28L], Counts(resumed)); // 7 batches of 32 per epoch, 4 epochs

        static DataLoader<int> NormLoader(ulong seed)
        {
            var random = new Random(4);
            float[] x = Enumerable.Range(0, 200 * 5).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
            int[] y = Enumerable.Range(0, 200).Select(i => x[5 * i] + x[5 * i + 1] > 0 ? 1 : 0).ToArray();
            return new DataLoader<int>(new Dataset<int>(x, y, 5), 32, shuffle: true, seed: seed);
        }
    }

    [Fact]
    public void Loading_into_another_optimizer_or_network_changes_nothing()
    {
        var net = new DropoutMlp(4, 1);
        var sgd = new SGD(net.Parameters(), 0.1f, momentum: 0.9f);
        string path = Path.Combine(_dir, "sgd.ckpt");
        Checkpoint.Save(path, net, sgd, epoch: 2);

        var other = new DropoutMlp(4, 2);
        float[] before = other.ParameterArena.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, new Adam(other.Parameters())));
        Assert.EndsWith("the checkpoint holds the state of optimizer SGD, but the optimizer is Adam.", e.Message);
        Assert.Equal(before, other.ParameterArena.ToArray());

        Assert.Throws<StateDictMismatchException>(() => Checkpoint.Load(path, new Interchange(1)));
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, other, null, null, [new RandomGenerator()]));
        Assert.EndsWith("the checkpoint holds 0 extra generators, but 1 were given.", e.Message);
        Assert.Equal(2, Checkpoint.Load(path, other, new SGD(other.Parameters(), 0.5f, momentum: 0.9f)));
        Assert.Equal(net.ParameterArena.ToArray(), other.ParameterArena.ToArray());
    }

    [Fact]
    public void A_checkpoint_of_another_network_is_reported_as_a_weight_mismatch_before_the_optimizer()
    {
        var net = new MlpRelu(4, 1); // 6 -> 8 -> 4
        Checkpoint.Save(Path.Combine(_dir, "relu.ckpt"), net, new SGD(net.Parameters(), 0.1f, momentum: 0.9f));
        var other = new MlpTanh(4, 1); // the same shapes under the same names: loads
        Checkpoint.Load(Path.Combine(_dir, "relu.ckpt"), other, new SGD(other.Parameters(), 0.1f, momentum: 0.9f));
        var narrower = new DropoutMlp(4, 1); // 6 -> 16 -> 3, and its optimizer's state would not fit either
        var e = Assert.Throws<StateDictMismatchException>(() => Checkpoint.Load(Path.Combine(_dir, "relu.ckpt"), narrower, new SGD(narrower.Parameters(), 0.1f, momentum: 0.9f)));
        Assert.Contains("0.weight is [8, 6] in the file but [16, 6] in the module", e.Message);
    }

    [Theory]
    [InlineData("sgd", "SGD was built with dampening=0, momentum=0.9, nesterov=False, weight_decay=0, but this one with dampening=0, momentum=0, nesterov=False, weight_decay=0")]
    [InlineData("adam", "Adam was built with amsgrad=True, beta1=0.9, beta2=0.999, eps=1E-08, weight_decay=0, but this one with amsgrad=False, beta1=0.9, beta2=0.999, eps=1E-08, weight_decay=0")]
    [InlineData("rmsprop", "RMSprop was built with alpha=0.99, centered=True, eps=1E-08, momentum=0, weight_decay=0, but this one with alpha=0.99, centered=False, eps=1E-08, momentum=0, weight_decay=0")]
    public void An_optimizer_built_with_other_settings_is_refused(string kind, string message)
    {
        var net = new DropoutMlp(4, 1);
        Optimizer saved = kind switch
        {
            "sgd" => new SGD(net.Parameters(), 0.1f, momentum: 0.9f),
            "adam" => new Adam(net.Parameters(), amsgrad: true),
            _ => new RMSprop(net.Parameters(), centered: true),
        };
        Optimizer plain = kind switch
        {
            "sgd" => new SGD(net.Parameters(), 0.1f),
            "adam" => new Adam(net.Parameters()),
            _ => new RMSprop(net.Parameters()),
        };
        string path = Path.Combine(_dir, kind + ".ckpt");
        Checkpoint.Save(path, net, saved, epoch: 1);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, net, plain));
        Assert.Contains(message, e.Message);
        Assert.Equal(1, Checkpoint.Load(path, net, saved));
    }

    [Fact]
    public void A_changed_byte_anywhere_in_the_data_is_reported_by_the_checksum()
    {
        var net = new DropoutMlp(4, 1);
        string path = Path.Combine(_dir, "flip.ckpt");
        Checkpoint.Save(path, net, new Adam(net.Parameters()), epoch: 3);
        byte[] good = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(good, 0);
        var random = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            byte[] bad = (byte[])good.Clone();
            int at = (int)(8 + headerLength + random.NextInt64(good.Length - 8 - headerLength));
            bad[at] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(path, bad);
            var target = new DropoutMlp(4, 2);
            float[] before = target.ParameterArena.ToArray();
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, new Adam(target.Parameters())));
            Assert.EndsWith("the checkpoint's checksum does not match its content: the file was changed or damaged after it was saved.", e.Message);
            Assert.Equal(before, target.ParameterArena.ToArray());
        }
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_file_whole()
    {
        var net = new DropoutMlp(4, 1);
        string path = Path.Combine(_dir, "keep.ckpt");
        Checkpoint.Save(path, net, epoch: 1);
        byte[] good = File.ReadAllBytes(path);
        // Saving into a folder that does not exist fails before anything replaces the target.
        Assert.ThrowsAny<IOException>(() => Checkpoint.Save(Path.Combine(_dir, "missing", "keep.ckpt"), net));
        // A save to the same path writes a temporary file and renames it over the old one: no partial state is ever visible.
        Checkpoint.Save(path, net, epoch: 2);
        Assert.Equal(2, Checkpoint.Load(path, new DropoutMlp(4, 9)));
        Assert.NotEqual(good, File.ReadAllBytes(path));
        Assert.Equal(["keep.ckpt"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Generator_state_round_trips()
    {
        var a = new RandomGenerator(5);
        a.NextNormal(); // leaves a spare normal in the state
        byte[] state = a.GetState();
        var b = new RandomGenerator(1);
        b.SetState(state);
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => a.NextNormal()), Enumerable.Range(0, 5).Select(_ => b.NextNormal()));
        Assert.Throws<ArgumentException>(() => b.SetState(new byte[37]));
        Assert.Throws<ArgumentException>(() => b.SetState(new byte[5]));
    }

    [Fact]
    public void Non_finite_gradients_stop_training_naming_the_parameter()
    {
        var net = new DropoutMlp(32, 1);
        var loader = Loader(1);
        net.Apply(m => { if (m is Linear l && l.OutFeatures == 3) l.Weight.Data[5] = float.PositiveInfinity; });
        var e = Assert.Throws<NonFiniteGradientException>(() =>
            Trainer.Fit(net, loader, null, new CrossEntropyLoss(), new SGD(net.Parameters(), 0.1f), epochs: 1, stopOnNonFiniteLoss: false, checkGradients: true));
        Assert.Equal(1, e.Batch);
        Assert.Matches(@"^The gradient of \d\.(weight|bias) became (NaN|-?∞|-?Infinity) \(element \d+\) at epoch 1, batch 1: training stopped\.$", e.Message);
    }
}
