using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace StaticNet.Benchmarks;

/// <summary>
/// d2l's LeNet training step at batch 256, kernel by kernel in the order the generated code runs them (the same kernel
/// calls and buffer sizes), each timed on its own: where the step's time goes, and the convolution layers' useful flops
/// (their Sigmoid and pooling, fused into them, included in their time) against the one-core peak.
/// </summary>
public static class LeNetLayers
{
    private const int B = 256;

    /// <summary>Zeros from a 64-byte boundary in a pinned array, as the network's arenas start.</summary>
    private static unsafe ArraySegment<float> Z(int n)
    {
        float[] array = GC.AllocateArray<float>(n + 16, pinned: true);
        fixed (float* start = array) return new ArraySegment<float>(array, (int)((64 - (nint)start % 64) % 64 / 4), n);
    }

    public static void Run(int batches = 600)
    {
        var c1 = new Conv2dGeometry(1, 28, 28, 6, 28, 28, 5, 5, 1, 1, 2, 2);
        var p1 = new Pool2dGeometry(6, 28, 28, 14, 14, 2, 2, 2, 2, 0, 0, 1, 1);
        var c2 = new Conv2dGeometry(6, 14, 14, 16, 10, 10, 5, 5);
        var p2 = new Pool2dGeometry(16, 10, 10, 5, 5, 2, 2, 2, 2, 0, 0, 1, 1);
        var random = new Random(1);
        ArraySegment<float> R(int n)
        {
            ArraySegment<float> values = Z(n);
            for (int i = 0; i < n; i++) values[i] = (float)random.NextDouble() - 0.5f;
            return values;
        }
        ArraySegment<float> x = R(B * 784), w1 = R(150), b1 = R(6), w2 = R(2400), b2 = R(16), wl1 = R(48000), bl1 = R(120), wl2 = R(10080), bl2 = R(84), wl3 = R(840), bl3 = R(10);
        ArraySegment<float> d0 = Z(B * 4704), h2 = Z(B * 1176), d3 = Z(B * 1600), h5 = Z(B * 400);
        ArraySegment<float> h7 = Z(B * 120), h8 = Z(B * 120), h9 = Z(B * 84), h10 = Z(B * 84), h11 = Z(B * 10);
        ArraySegment<float> g11 = R(B * 10), g10 = Z(B * 84), g9 = Z(B * 84), g8 = Z(B * 120), g7 = Z(B * 120);
        ArraySegment<float> g5 = Z(B * 400), g3 = Z(B * 1600), g2 = Z(B * 1176), g0 = Z(B * 4704);
        ArraySegment<float> dw1 = Z(150), db1 = Z(6), dw2 = Z(2400), db2 = Z(16), dwl1 = Z(48000), dbl1 = Z(120);
        ArraySegment<float> dwl2 = Z(10080), dbl2 = Z(84), dwl3 = Z(840), dbl3 = Z(10);
        (string Name, Action Step)[] steps =
        [
            ("conv1 + Sigmoid + pool, forward", () => Kernels.Conv2dSigmoidAvgPool2dForward(d0, h2, x, w1, b1, B, c1, p1, true, 0)),
            ("conv2 + Sigmoid + pool, forward", () => Kernels.Conv2dSigmoidAvgPool2dForward(d3, h5, h2, w2, b2, B, c2, p2, true, 0)),
            ("Linear 400-120 + Sigmoid, forward", () => { Kernels.LinearForward(h7, h5, wl1, bl1, B, 400, 120); Kernels.SigmoidForward(h8, h7); }),
            ("Linear 120-84 + Sigmoid, forward", () => { Kernels.LinearForward(h9, h8, wl2, bl2, B, 120, 84); Kernels.SigmoidForward(h10, h9); }),
            ("Linear 84-10, forward", () => Kernels.LinearForward(h11, h10, wl3, bl3, B, 84, 10)),
            ("Linear 84-10 + Sigmoid, backward", () => { Kernels.LinearBackward(g10, dwl3, dbl3, g11, h10, wl3, B, 84, 10); Kernels.SigmoidBackward(g9, g10, h9); }),
            ("Linear 120-84 + Sigmoid, backward", () => { Kernels.LinearBackward(g8, dwl2, dbl2, g9, h8, wl2, B, 120, 84); Kernels.SigmoidBackward(g7, g8, h7); }),
            ("Linear 400-120, backward", () => Kernels.LinearBackward(g5, dwl1, dbl1, g7, h5, wl1, B, 400, 120)),
            ("conv2 + Sigmoid + pool, backward", () => Kernels.Conv2dSigmoidAvgPool2dBackward(g2, dw2, db2, g3, g5, d3, h2, w2, B, c2, p2, true, 0)),
            ("conv1 + Sigmoid + pool, backward", () => Kernels.Conv2dSigmoidAvgPool2dBackward(default, dw1, db1, g0, g2, d0, x, w1, B, c1, p1, true, 0)),
        ];
        var totals = new double[steps.Length];
        var clock = Stopwatch.StartNew();
        for (int batch = -batches / 3; batch < batches; batch++) // the first third warms up (tiered JIT, split calibration)
        {
            for (int i = 0; i < steps.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                steps[i].Step();
                if (batch >= 0) totals[i] += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            dw1.AsSpan().Clear(); dw2.AsSpan().Clear();
        }
        double peak = PeakProbe.GflopsOneCore();
        double step = totals.Sum() / batches, conv = (totals[0] + totals[1] + totals[8] + totals[9]) / batches;
        // Useful flops of the convolutions per sample: conv1 forward and weight gradient (117,600 multiply-adds each),
        // conv2 forward, weight gradient and input gradient (240,000 each).
        double convFlops = 2.0 * B * (2 * 117_600 + 3 * 240_000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LeNet training step, batch {B}, {Threading.NumThreads} thread(s), mean of {batches} batches:"));
        for (int i = 0; i < steps.Length; i++) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {steps[i].Name,-36} {totals[i] / batches,7:F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"step",-36} {step,7:F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"convolution layers: {conv:F3} ms, {convFlops / conv / 1e6:F1} GFLOP/s, {100 * convFlops / conv / 1e6 / (peak * Threading.NumThreads):F0}% of {Threading.NumThreads} x the one-core peak ({peak:F0} GFLOP/s)"));
    }
}
