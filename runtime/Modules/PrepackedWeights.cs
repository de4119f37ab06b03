using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StaticNet.Simd;

namespace StaticNet;

/// <summary>
/// Packed copies of a network's Linear weights in the packed GEMM's panel layout (<see cref="Network.PrepackWeights"/>),
/// read by the Linear forward during <see cref="Network.Infer"/> in place of packing the weight on every call. A copy is
/// refreshed whenever <see cref="Parameter.DataVersion"/> has moved since it was made.
/// </summary>
internal sealed class PrepackedWeights
{
    private readonly Entry[] _entries;
    private long _version = -1;

    [ThreadStatic] private static PrepackedWeights? t_active;

    private sealed class Entry(Parameter weight, int n, int k)
    {
        public readonly Parameter Weight = weight;
        public readonly int N = n, K = k;
        public readonly float[] Packed = AlignedArray.Allocate(PackedGemm.PackedWeightLength(n, k));
    }

    /// <summary>Every Linear layer in <paramref name="network"/> whose forward can run on the packed GEMM (<see cref="Kernels.PrepacksLinear"/>).</summary>
    public PrepackedWeights(Network network)
    {
        var entries = new List<Entry>();
        if (PackedGemm.IsSupported)
        {
            foreach (Module module in network.Modules())
            {
                if (module is Linear linear && Kernels.PrepacksLinear(linear.InFeatures, linear.OutFeatures))
                {
                    entries.Add(new Entry(linear.Weight, linear.OutFeatures, linear.InFeatures));
                }
            }
        }
        _entries = [.. entries];
    }

    /// <summary>Floats held by the packed copies.</summary>
    public long Length
    {
        get
        {
            long total = 0;
            foreach (Entry e in _entries) total += e.Packed.Length;
            return total;
        }
    }

    /// <summary>
    /// Packs every weight again if any parameter may have changed since the last packing, then makes these the ones the
    /// calling thread's Linear forwards read. Returns the set active before, for <see cref="Restore"/>.
    /// </summary>
    public PrepackedWeights? Activate()
    {
        long version = Parameter.DataVersion;
        if (version != _version)
        {
            foreach (Entry e in _entries)
            {
                PackedGemm.PackWeight(e.Packed.AsSpan(AlignedArray.Start(e.Packed)), e.Weight.Values, e.N, e.K);
            }
            // The version read before packing: a change during it is seen as a change at the next call.
            _version = version;
        }
        PrepackedWeights? previous = t_active;
        t_active = this;
        return previous;
    }

    /// <summary>Makes the next <see cref="Activate"/> pack every weight again.</summary>
    public void MarkStale() => _version = -1;

    /// <summary>Ends <see cref="Activate"/> on the calling thread: <paramref name="previous"/> is active again.</summary>
    public static void Restore(PrepackedWeights? previous) => t_active = previous;

    /// <summary>The packed copy of <paramref name="weight"/> [n, k], if the calling thread's active set has one: the array and where it starts in it.</summary>
    public static bool TryFind(ReadOnlySpan<float> weight, int n, int k, [NotNullWhen(true)] out float[]? packed, out int start)
    {
        PrepackedWeights? active = t_active;
        if (active is not null)
        {
            ref float w = ref MemoryMarshal.GetReference(weight);
            foreach (Entry e in active._entries)
            {
                if (e.N == n && e.K == k && Unsafe.AreSame(ref w, ref MemoryMarshal.GetReference(e.Weight.Values)))
                {
                    packed = e.Packed;
                    start = AlignedArray.Start(e.Packed);
                    return true;
                }
            }
        }
        packed = null;
        start = 0;
        return false;
    }
}
