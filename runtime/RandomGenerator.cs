using System;
using System.Buffers.Binary;

namespace StaticNet;

/// <summary>
/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64), the counterpart of torch.Generator.
/// The same seed gives the same sequence on every machine; the state can be read and restored.
/// </summary>
public sealed class RandomGenerator
{
    private ulong _s0, _s1, _s2, _s3;
    private float _spareNormal;
    private bool _hasSpareNormal;

    /// <summary>The generator used when none is given, as torch.default_generator; seeded with 0 until ManualSeed is called. Not thread-safe.</summary>
    public static RandomGenerator Default { get; } = new(0);

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public RandomGenerator(ulong seed = 0) => ManualSeed(seed);

    /// <summary>Restarts the sequence from <paramref name="seed"/>, as torch.Generator.manual_seed does.</summary>
    public RandomGenerator ManualSeed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
        _hasSpareNormal = false;
        return this;
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A float uniform in [0, 1), with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A double uniform in [0, 1), with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A standard normal sample (Box-Muller; the second value of each pair is kept for the next call).</summary>
    public float NextNormal()
    {
        if (_hasSpareNormal)
        {
            _hasSpareNormal = false;
            return _spareNormal;
        }
        double u1 = 1.0 - NextDouble(); // in (0, 1], so the logarithm is finite
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = (float)(radius * Math.Sin(2 * Math.PI * u2));
        _hasSpareNormal = true;
        return (float)(radius * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>The generator's complete state (torch.Generator.get_state), to restore with <see cref="SetState"/>.</summary>
    public byte[] GetState()
    {
        var state = new byte[StateLength];
        Span<byte> s = state;
        BinaryPrimitives.WriteUInt64LittleEndian(s, _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], _s3);
        BinaryPrimitives.WriteSingleLittleEndian(s[32..], _spareNormal);
        s[36] = _hasSpareNormal ? (byte)1 : (byte)0;
        return state;
    }

    /// <summary>Restores a state from <see cref="GetState"/> (torch.Generator.set_state): the sequence continues from there.</summary>
    public void SetState(ReadOnlySpan<byte> state)
    {
        if (state.Length != StateLength || state[36] > 1)
        {
            throw new ArgumentException($"A generator state is {StateLength} bytes from GetState, but this one has {state.Length}.", nameof(state));
        }
        ulong s0 = BinaryPrimitives.ReadUInt64LittleEndian(state), s1 = BinaryPrimitives.ReadUInt64LittleEndian(state[8..]);
        ulong s2 = BinaryPrimitives.ReadUInt64LittleEndian(state[16..]), s3 = BinaryPrimitives.ReadUInt64LittleEndian(state[24..]);
        if ((s0 | s1 | s2 | s3) == 0) throw new ArgumentException("An all-zero state is not a valid xoshiro256** state.", nameof(state));
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
        _spareNormal = BinaryPrimitives.ReadSingleLittleEndian(state[32..]);
        _hasSpareNormal = state[36] == 1;
    }

    private const int StateLength = 37;

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
