using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;

namespace StaticNet.Benchmarks;

/// <summary>
/// Where a Linear forward should stop reading its weight in place (the streaming tiles of Gemm.MultiplyTransposed) and
/// pack it for the packed GEMM: both kernels on the same operands at 8 to 128 rows, alternating in one process, on the
/// calling thread, for weights of several shapes (the MLP's and LeNet's among them). The runtime's crossing
/// (Kernels.StreamedRows, from the in features) was measured on an AMD Zen 5 core; this prints it beside the crossing
/// measured on the CPU at hand.
/// </summary>
public static class LinearRows
{
    private static readonly (int In, int Out)[] Shapes = [(64, 512), (128, 128), (256, 256), (512, 512), (784, 256), (1024, 1024), (2048, 256), (400, 120), (120, 84)];
    private static readonly int[] Rows = [8, 16, 24, 32, 40, 48, 64, 96, 128];

    /// <summary>Zeros from a 64-byte boundary in a pinned array, as the network's arenas start.</summary>
    private static unsafe ArraySegment<float> Aligned(int n, Random random)
    {
        float[] array = GC.AllocateArray<float>(n + 16, pinned: true);
        fixed (float* start = array)
        {
            var values = new ArraySegment<float>(array, (int)((64 - (nint)start % 64) % 64 / 4), n);
            for (int i = 0; i < n; i++) values[i] = (float)random.NextDouble() - 0.5f;
            return values;
        }
    }

    public static void Run(int rounds = 5)
    {
        int previous = Threading.NumThreads;
        Threading.NumThreads = 1;
        try
        {
            var random = new Random(1);
            Console.WriteLine($"Linear forward, one thread, median of {rounds} rounds, us (streamed / packed)");
            foreach ((int inFeatures, int outFeatures) in Shapes)
            {
                ArraySegment<float> x = Aligned(Rows[^1] * inFeatures, random), w = Aligned(outFeatures * inFeatures, random);
                ArraySegment<float> bias = Aligned(outFeatures, random), y = Aligned(Rows[^1] * outFeatures, random);
                string line = $"{inFeatures} x {outFeatures}:";
                int crossing = -1;
                foreach (int rows in Rows)
                {
                    void Streamed() => Gemm.MultiplyTransposed(ref y.Array![y.Offset], ref x.Array![x.Offset], ref w.Array![w.Offset], ref bias.Array![bias.Offset],
                        true, rows, outFeatures, inFeatures);
                    void Packed() => PackedGemm.MultiplyAddBias(ref y.Array![y.Offset], ref x.Array![x.Offset], inFeatures, 1, ref w.Array![w.Offset], 1, inFeatures,
                        rows, outFeatures, inFeatures, ref bias.Array![bias.Offset]);
                    int repeats = (int)Math.Clamp(2e8 / (2.0 * rows * inFeatures * outFeatures), 20, 20_000);
                    var streamed = new List<double>();
                    var packed = new List<double>();
                    for (int round = 0; round < rounds; round++)
                    {
                        streamed.Add(Time(Streamed, repeats));
                        packed.Add(Time(Packed, repeats));
                    }
                    streamed.Sort();
                    packed.Sort();
                    double s = streamed[rounds / 2], p = packed[rounds / 2];
                    if (crossing < 0 && p < s) crossing = rows;
                    line += string.Create(CultureInfo.InvariantCulture, $" {rows}: {s:0.0}/{p:0.0}");
                }
                Console.WriteLine(line + (crossing < 0 ? $"; streamed ahead up to {Rows[^1]}" : $"; packed ahead from {crossing}") +
                    $" (the runtime streams under {Kernels.StreamedRows(inFeatures)})");
            }
        }
        finally
        {
            Threading.NumThreads = previous;
        }
    }

    private static double Time(Action action, int repeats)
    {
        for (int i = 0; i < Math.Max(2, repeats / 10); i++) action();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) action();
        return clock.Elapsed.TotalMicroseconds / repeats;
    }
}
