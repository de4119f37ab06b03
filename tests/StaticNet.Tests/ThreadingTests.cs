using System;
using System.Linq;
using System.Threading;
using StaticNet.Tests.Networks;
using Xunit;

namespace StaticNet.Tests;

/// <summary>Splitting the products across threads changes nothing: outputs and gradients are identical bit for bit.</summary>
public class ThreadingTests
{
    private static (float[] Output, float[] Gradients, float[] InputGrad, float[] FewRows, float[] Stepped) Run(int threads)
    {
        return NetworkCases.OnThreads(threads, () =>
        {
            var net = new FashionMlpPlain(256, 5);
            float[] input = NetworkCases.RandomFloats(256 * 784, 1);
            var output = new float[2560];
            var inputGrad = new float[input.Length];
            net.Forward(input, output);
            net.Backward(NetworkCases.RandomFloats(2560, 2), inputGrad);
            // Three samples take the few-rows path, which splits the 784 x 256 weight by output columns.
            var fewRows = new float[30];
            net.Forward(input.AsSpan(0, 3 * 784), fewRows);
            float[] gradients = net.GradientArena.ToArray();
            // Steps over the 203,530 parameters are split across threads too; ZeroGrad as well.
            var adam = new Adam(net.Parameters(), 0.01f, amsgrad: true);
            var sgd = new SGD(net.Parameters(), 0.1f, momentum: 0.9f);
            for (int step = 0; step < 2; step++)
            {
                adam.Step();
                sgd.Step();
            }
            sgd.ZeroGrad();
            Assert.All(net.GradientArena.ToArray(), g => Assert.Equal(0f, g));
            return (output, gradients, inputGrad, fewRows, net.ParameterArena.ToArray());
        });
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var one = Run(1);
        // 4 then 2 and 3: jobs with fewer parts than there are workers leave the extra workers idle.
        foreach (int threads in new[] { 2, 3, 4, 2, 3 })
        {
            var many = Run(threads);
            Assert.Equal(one.Output, many.Output);
            Assert.Equal(one.Gradients, many.Gradients);
            Assert.Equal(one.InputGrad, many.InputGrad);
            Assert.Equal(one.FewRows, many.FewRows);
            Assert.Equal(one.Stepped, many.Stepped);
        }
    }

    [Theory]
    [InlineData(300, 790, 10)]
    [InlineData(77, 1000, 3)]
    [InlineData(130, 2100, 16)]
    [InlineData(100, 700, 40)]
    public void Split_linear_kernels_equal_the_serial_ones_at_odd_sizes(int rows, int inFeatures, int outFeatures)
    {
        float[] x = NetworkCases.RandomFloats(rows * inFeatures, 11), w = NetworkCases.RandomFloats(outFeatures * inFeatures, 12);
        float[] b = NetworkCases.RandomFloats(outFeatures, 13), dy = NetworkCases.RandomFloats(rows * outFeatures, 14);
        (float[] Y, float[] Dx, float[] Dw, float[] Db, float[] YRelu, float[] DxRelu) Run(int threads)
        {
            return NetworkCases.OnThreads(threads, () =>
            {
                var y = new float[rows * outFeatures];
                var dx = new float[rows * inFeatures];
                float[] dw = NetworkCases.RandomFloats(outFeatures * inFeatures, 15), db = new float[outFeatures];
                Kernels.LinearForward(y, x, w, b, rows, inFeatures, outFeatures);
                Kernels.LinearBackward(dx, dw, db, dy, x, w, rows, inFeatures, outFeatures);
                var yRelu = new float[rows * outFeatures];
                var dxRelu = new float[rows * inFeatures];
                Kernels.LinearReluForward(yRelu, x, w, b, rows, inFeatures, outFeatures);
                Kernels.LinearBackwardThroughRelu(dxRelu, new float[dw.Length], new float[outFeatures], dy, x, w, rows, inFeatures, outFeatures);
                return (y, dx, dw, db, yRelu, dxRelu);
            });
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3 })
        {
            var many = Run(threads);
            Assert.Equal(one.Y, many.Y);
            Assert.Equal(one.Dx, many.Dx);
            Assert.Equal(one.Dw, many.Dw);
            Assert.Equal(one.Db, many.Db);
            Assert.Equal(one.YRelu, many.YRelu);
            Assert.Equal(one.DxRelu, many.DxRelu);
        }
    }

    private sealed class FailingPart(int failing) : Simd.IPartitionedJob
    {
        public readonly int[] Ran = new int[3];

        public void Execute(int part)
        {
            Ran[part]++;
            if (part == failing) throw new InvalidOperationException($"part {part} failed");
        }
    }

    [Fact]
    public void A_part_that_throws_on_a_worker_fails_the_caller_after_every_part_ran()
    {
        var job = new FailingPart(2);
        var e = Assert.Throws<InvalidOperationException>(() => Simd.WorkerPool.Run(job, 3));
        Assert.Equal("part 2 failed", e.Message);
        Assert.Equal(new[] { 1, 1, 1 }, job.Ran);
        // The pool still works afterwards.
        var next = new FailingPart(-1);
        Simd.WorkerPool.Run(next, 3);
        Assert.Equal(new[] { 1, 1, 1 }, next.Ran);
    }

    private sealed class CountingParts : Simd.IPartitionedJob
    {
        public readonly int[] Ran = new int[4];

        public void Execute(int part)
        {
            Interlocked.Increment(ref Ran[part]);
            // Now and then a part takes a while, so that workers fall behind, get preempted or go to sleep.
            if (part != 0 && (Ran[part] & 63) == 0) Thread.Sleep(1);
        }
    }

    [Fact]
    public void Every_part_of_every_job_runs_exactly_once_under_contention()
    {
        // More parts than cores, many short jobs in a row: workers are preempted between seeing a job and claiming their
        // part, and the caller takes over parts it finds unclaimed. A part run twice or never shows in the counts.
        for (int round = 0; round < 3; round++)
        {
            foreach (int parts in new[] { 4, 2, 3 })
            {
                var job = new CountingParts();
                const int Jobs = 3000;
                for (int i = 0; i < Jobs; i++) Simd.WorkerPool.Run(job, parts);
                for (int part = 0; part < parts; part++) Assert.Equal(Jobs, job.Ran[part]);
            }
        }
    }

    [Fact]
    public void Callers_on_several_threads_take_turns_and_every_part_still_runs_once()
    {
        var jobs = new[] { new CountingParts(), new CountingParts(), new CountingParts() };
        const int Jobs = 1000;
        var callers = new Thread[jobs.Length];
        for (int c = 0; c < callers.Length; c++)
        {
            CountingParts job = jobs[c];
            int parts = 2 + c % 2;
            callers[c] = new Thread(() =>
            {
                for (int i = 0; i < Jobs; i++) Simd.WorkerPool.Run(job, parts);
            });
            callers[c].Start();
        }
        foreach (Thread caller in callers) caller.Join();
        for (int c = 0; c < jobs.Length; c++)
        {
            for (int part = 0; part < 2 + c % 2; part++) Assert.Equal(Jobs, jobs[c].Ran[part]);
        }
    }

    [Fact]
    public void Two_threads_on_one_network_get_an_exception_never_a_wrong_output()
    {
        var net = new FashionMlp(64, 1);
        var replica = new FashionMlp(64, 2);
        replica.LoadStateDict(net.StateDict());
        net.Eval(); // no dropout: every Forward of the same input gives the same output
        replica.Eval();
        float[] input = NetworkCases.RandomFloats(64 * 784, 3);
        float[] expected = new float[64 * 10], copied = new float[64 * 10];
        net.Forward(input, expected);
        replica.Forward(input, copied);
        Assert.Equal(expected, copied);
        int refused = 0, wrong = 0;
        void Work(Network model)
        {
            var output = new float[64 * 10];
            for (int i = 0; i < 1000; i++)
            {
                try
                {
                    model.Forward(input, output);
                    if (!output.AsSpan().SequenceEqual(expected)) Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("is already running Forward or Backward"))
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }
        var threads = new[] { new Thread(() => Work(net)), new Thread(() => Work(net)) };
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Assert.Equal(0, wrong);
        Assert.True(refused > 0, "two threads never overlapped: nothing was tested");

        // One network per thread, with the same weights: every output right, nothing refused.
        refused = 0;
        threads = [new Thread(() => Work(net)), new Thread(() => Work(replica))];
        foreach (Thread t in threads) t.Start();
        foreach (Thread t in threads) t.Join();
        Assert.Equal(0, wrong + refused);

        // After a refused call the network works as before.
        var again = new float[64 * 10];
        net.Forward(input, again);
        Assert.Equal(expected, again);
    }

    [Fact]
    public void Thread_count_is_validated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Threading.NumThreads = 0);
        Assert.StartsWith("The thread count must be from 1 to 256.", e.Message);
    }
}

/// <summary>SplitCalibration: a product splits across threads only where the split measured clearly faster.</summary>
public class SplitCalibrationTests
{
    /// <summary>Runs the calibration's trials with the given times (ticks) for each way, as a product's call site would.</summary>
    private static StaticNet.Simd.SplitCalibration.Entry Calibrate(long splitTicks, long aloneTicks)
    {
        var entry = new StaticNet.Simd.SplitCalibration.Entry();
        var ways = new System.Collections.Generic.List<bool>();
        for (int call = 0; call < 20; call++)
        {
            bool split = entry.Split(out bool measure);
            Assert.Equal(call % 2 == 1, measure); // a pair's second call is timed
            ways.Add(split);
            if (measure) entry.Record(split, split ? splitTicks : aloneTicks);
        }
        Assert.Equal(Pairs(20), ways); // pairs alternating, the split first
        return entry;
    }

    /// <summary>true, true, false, false, ...: the ways of the calibration's calls.</summary>
    private static bool[] Pairs(int calls) => System.Linq.Enumerable.Range(0, calls).Select(call => call % 4 < 2).ToArray();

    [Theory]
    [InlineData(100, 200, true)]   // the split twice as fast
    [InlineData(200, 100, false)]  // the split slower (two vCPUs sharing a core)
    [InlineData(97, 100, false)]   // within 5%: the second core is left free
    public void The_faster_way_is_kept_and_no_longer_measured(long splitTicks, long aloneTicks, bool splits)
    {
        StaticNet.Simd.SplitCalibration.Entry entry = Calibrate(splitTicks, aloneTicks);
        Assert.Equal(splits, entry.Decision);
        for (int call = 0; call < 3; call++)
        {
            Assert.Equal(splits, entry.Split(out bool measure));
            Assert.False(measure);
        }
    }

    [Fact]
    public void An_outlier_in_either_way_does_not_decide()
    {
        var entry = new StaticNet.Simd.SplitCalibration.Entry();
        long[] split = [5000, 100, 100, 100, 100], alone = [200, 200, 200, 200, 9];
        for (int i = 0; i < 5; i++)
        {
            entry.Record(true, split[i]);
            entry.Record(false, alone[i]);
        }
        Assert.True(entry.Decision); // medians 100 against 200
    }

    [Fact]
    public void A_decision_is_measured_again_after_64_calls_then_twice_as_many_each_time()
    {
        // First the split measures faster; measured again, running alone does (another tenant took the second vCPU).
        StaticNet.Simd.SplitCalibration.Entry entry = Calibrate(100, 200);
        Assert.True(entry.Decision);
        int Until()
        {
            for (int call = 1; ; call++)
            {
                bool? before = entry.Decision;
                bool split = entry.Split(out bool measure);
                Assert.False(measure);
                if (entry.Decision is null) return call; // measuring again, starting with an untimed split
                Assert.True(split == before);
            }
        }
        Assert.Equal(64, Until());
        Assert.Null(entry.Decision);
        // The measuring starts over: the call Until stopped at was the first of a split pair (untimed).
        for (int call = 1; call < 20; call++)
        {
            bool split = entry.Split(out bool measure);
            Assert.Equal(call % 4 < 2, split);
            if (measure) entry.Record(split, split ? 300 : 200);
        }
        Assert.False(entry.Decision);
        Assert.Equal(128, Until());
    }

    [Fact]
    public void Decisions_are_measured_again_one_product_at_a_time()
    {
        // Two products of a step, first measured together (in step), then each due to be measured again after 64 calls.
        var turn = new StaticNet.Simd.SplitCalibration.Turn();
        var first = new StaticNet.Simd.SplitCalibration.Entry();
        var second = new StaticNet.Simd.SplitCalibration.Entry();
        void Call(StaticNet.Simd.SplitCalibration.Entry entry, long splitTicks, long aloneTicks)
        {
            bool split = entry.Split(out bool measure, turn);
            if (measure) entry.Record(split, split ? splitTicks : aloneTicks);
        }
        for (int step = 0; step < 20; step++)
        {
            Call(first, 100, 200);
            Call(second, 300, 200);
        }
        Assert.True(first.Decision);
        Assert.False(second.Decision); // both decided from the same 20 steps: the first measuring takes no turn
        for (int step = 0; step < 63; step++)
        {
            Call(first, 100, 200);
            Call(second, 300, 200);
        }
        // Step 64: the first takes the turn and measures again; the second, due too, keeps running alone, untimed.
        Call(first, 100, 200);
        Assert.Null(first.Decision);
        Assert.False(second.Split(out bool measure, turn));
        Assert.False(measure);
        Assert.False(second.Decision);
        for (int step = 1; step < 19; step++)
        {
            Call(first, 100, 200);
            Assert.False(second.Split(out measure, turn)); // still waiting, still alone
            Assert.False(measure);
        }
        Call(first, 100, 200);
        Assert.True(first.Decision); // decided again on its 20th call, and the turn given back
        Assert.True(second.Split(out measure, turn)); // the second's turn: the first call of a split pair, untimed
        Assert.False(measure);
        Assert.Null(second.Decision);
    }

    [Fact]
    public void A_turn_whose_holder_is_no_longer_called_passes_on()
    {
        var turn = new StaticNet.Simd.SplitCalibration.Turn();
        var gone = new StaticNet.Simd.SplitCalibration.Entry();
        var waiting = new StaticNet.Simd.SplitCalibration.Entry();
        Assert.True(turn.Take(gone)); // measuring again, then never called again (its layer ran once)
        int denied = 0;
        while (!turn.Take(waiting) && denied < 10_000) denied++;
        Assert.Equal(StaticNet.Simd.SplitCalibration.Turn.StaleAfter, denied);
        Assert.False(turn.Take(gone)); // the turn has passed on
        turn.Release(waiting);
        Assert.True(turn.Take(gone));
    }

    [Fact]
    public void A_site_runs_the_parts_its_trial_gives_and_records_until_decided()
    {
        // Nothing to decide with one part: no entry, no timing.
        Assert.Equal(1, StaticNet.Simd.SplitCalibration.Begin(1000, 1, 2, 3, parts: 1).Parts);
        long key = Environment.TickCount64; // a product no other test has seen
        var parts = new System.Collections.Generic.List<int>();
        for (int call = 0; call < 20; call++)
        {
            StaticNet.Simd.SplitCalibration.Trial trial = StaticNet.Simd.SplitCalibration.Begin(1000, key, 0, 0, parts: 3);
            parts.Add(trial.Parts);
            trial.End();
        }
        Assert.Equal(Pairs(20).Select(split => split ? 3 : 1), parts); // pairs alternating, the split first
        bool? decision = StaticNet.Simd.SplitCalibration.For(1000, key, 0, 0, 3).Decision;
        Assert.NotNull(decision);
        for (int call = 0; call < 3; call++) Assert.Equal(decision == true ? 3 : 1, StaticNet.Simd.SplitCalibration.Begin(1000, key, 0, 0, parts: 3).Parts);
    }

    [Fact]
    public void Convolution_pooling_and_linear_sites_give_the_same_bits_split_or_alone()
    {
        // The first calls of each product alternate in pairs between the split and the calling thread alone: every call
        // must give the same bits (LeNet's layers at batch 64: the lane-interleaved and direct convolutions, the direct
        // weight gradient, the fused sigmoid and pooling both ways, the linear layers).
        NetworkCases.OnThreads(2, () =>
        {
            var net = new Networks.D2lLeNet(64, 5);
            var sgd = new SGD(net.Parameters(), lr: 0.1f);
            float[] input = NetworkCases.RandomFloats(64 * 784, 1), outputGrad = NetworkCases.RandomFloats(640, 2);
            float[] start = net.ParameterArena.ToArray();
            float[]? first = null;
            for (int call = 0; call < 12; call++)
            {
                start.CopyTo(net.ParameterArena);
                var output = new float[640];
                var inputGrad = new float[input.Length];
                net.ZeroGrad();
                net.Forward(input, output);
                net.Backward(outputGrad, inputGrad);
                sgd.Step();
                float[] all = [.. output, .. inputGrad, .. net.GradientArena.ToArray(), .. net.ParameterArena.ToArray()];
                if (first is null) first = all;
                else Assert.Equal(first, all);
            }
        });
    }
}
