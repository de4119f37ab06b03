using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet.Simd;

/// <summary>An operation on one element, written once for every vector width.</summary>
internal interface IUnaryOperator
{
    TV Invoke<TV>(TV x) where TV : struct, IVector<TV>;
}

/// <summary>An operation on two elements at the same index, written once for every vector width.</summary>
internal interface IBinaryOperator
{
    TV Invoke<TV>(TV x, TV y) where TV : struct, IVector<TV>;
}

/// <summary>
/// The shared loop skeleton of elementwise kernels: the widest accelerated vector first, then one overlapping last
/// vector for the remainder (so the destination must not overlap the sources); spans shorter than every
/// accelerated vector go one lane at a time.
/// </summary>
internal static class Elementwise
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> destination, ReadOnlySpan<float> x, TOp op) where TOp : struct, IUnaryOperator
    {
        CheckLengths(destination, x, nameof(x));
        if (destination.IsEmpty) return;
        if (Vector512.IsHardwareAccelerated && destination.Length >= Vec512.Count) Map<TOp, Vec512>(destination, x, op);
        else if (Vector256.IsHardwareAccelerated && destination.Length >= Vec256.Count) Map<TOp, Vec256>(destination, x, op);
        else if (Vector128.IsHardwareAccelerated && destination.Length >= Vec128.Count) Map<TOp, Vec128>(destination, x, op);
        else Map<TOp, Scalar>(destination, x, op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    public static void Map<TOp>(Span<float> destination, ReadOnlySpan<float> x, ReadOnlySpan<float> y, TOp op) where TOp : struct, IBinaryOperator
    {
        CheckLengths(destination, x, nameof(x));
        CheckLengths(destination, y, nameof(y));
        if (destination.IsEmpty) return;
        if (Vector512.IsHardwareAccelerated && destination.Length >= Vec512.Count) Map<TOp, Vec512>(destination, x, y, op);
        else if (Vector256.IsHardwareAccelerated && destination.Length >= Vec256.Count) Map<TOp, Vec256>(destination, x, y, op);
        else if (Vector128.IsHardwareAccelerated && destination.Length >= Vec128.Count) Map<TOp, Vec128>(destination, x, y, op);
        else Map<TOp, Scalar>(destination, x, y, op);
    }

    /// <summary>first[i] = second[i] = op(x[i], y[i]): one result stored twice, as two calls of the binary Map would.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> first, Span<float> second, ReadOnlySpan<float> x, ReadOnlySpan<float> y, TOp op) where TOp : struct, IBinaryOperator
    {
        CheckLengths(first, x, nameof(x));
        CheckLengths(first, y, nameof(y));
        CheckLengths(second, x, nameof(x));
        CheckLengths(second, y, nameof(y));
        if (first.Overlaps(second)) throw new ArgumentException("The two destinations overlap; kernels need separate buffers.", nameof(second));
        if (first.IsEmpty) return;
        if (Vector512.IsHardwareAccelerated && first.Length >= Vec512.Count) Map<TOp, Vec512>(first, second, x, y, op);
        else if (Vector256.IsHardwareAccelerated && first.Length >= Vec256.Count) Map<TOp, Vec256>(first, second, x, y, op);
        else if (Vector128.IsHardwareAccelerated && first.Length >= Vec128.Count) Map<TOp, Vec128>(first, second, x, y, op);
        else Map<TOp, Scalar>(first, second, x, y, op);
    }

    /// <summary>values[i] = op(values[i]) in place: whole vectors, then single lanes (an overlapping last vector would apply op twice).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update<TOp>(Span<float> values, TOp op) where TOp : struct, IUnaryOperator
    {
        ref float v = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec512>(ref v, values.Length, op);
        else if (Vector256.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec256>(ref v, values.Length, op);
        else if (Vector128.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec128>(ref v, values.Length, op);
        for (; i < values.Length; i++) Scalar.Store(op.Invoke(Scalar.Load(ref Unsafe.Add(ref v, i))), ref Unsafe.Add(ref v, i));
    }

    /// <summary>values[i] = op(values[i], y[i]) in place, as <see cref="Update{TOp}(Span{float}, TOp)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Update<TOp>(Span<float> values, ReadOnlySpan<float> y, TOp op) where TOp : struct, IBinaryOperator
    {
        if (y.Length != values.Length) throw new ArgumentException($"y holds {y.Length} floats, but the destination holds {values.Length}.", nameof(y));
        ref float v = ref MemoryMarshal.GetReference(values);
        ref float b = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec512>(ref v, ref b, values.Length, op);
        else if (Vector256.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec256>(ref v, ref b, values.Length, op);
        else if (Vector128.IsHardwareAccelerated) i = UpdateVectors<TOp, Vec128>(ref v, ref b, values.Length, op);
        for (; i < values.Length; i++)
        {
            Scalar.Store(op.Invoke(Scalar.Load(ref Unsafe.Add(ref v, i)), Scalar.Load(ref Unsafe.Add(ref b, i))), ref Unsafe.Add(ref v, i));
        }
    }

    /// <summary>
    /// The whole vectors of an in-place update; returns where the single lanes start. Compiled on its own, fully optimised
    /// from the first call: marked for inlining, it was left out of <see cref="Update{TOp}(Span{float}, TOp)"/> once that
    /// was itself inlined into a caller (Kernels.ReluInPlace at tier 1), and then ran as tier-0 code, every vector
    /// operation a call, until tiering reached it, seconds into a process (16-sample MLP inference, the ReLU after the
    /// streamed first layer: found with DOTNET_JitDisasmSummary=1).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int UpdateVectors<TOp, TV>(ref float v, int n, TOp op) where TOp : struct, IUnaryOperator where TV : struct, IVector<TV>
    {
        int i = 0;
        for (; i + TV.Count <= n; i += TV.Count) TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref v, i))), ref Unsafe.Add(ref v, i));
        return i;
    }

    /// <summary>The whole vectors of an in-place binary update, compiled on its own as the unary one above.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int UpdateVectors<TOp, TV>(ref float v, ref float y, int n, TOp op) where TOp : struct, IBinaryOperator where TV : struct, IVector<TV>
    {
        int i = 0;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref v, i)), TV.Load(ref Unsafe.Add(ref y, i))), ref Unsafe.Add(ref v, i));
        }
        return i;
    }

    /// <summary>Throws unless the spans have equal lengths and do not overlap: the overlapping tail would read written values.</summary>
    public static void CheckLengths(Span<float> destination, ReadOnlySpan<float> source, string name)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"{name} holds {source.Length} floats, but the destination holds {destination.Length}.", name);
        }
        if (destination.Overlaps(source))
        {
            throw new ArgumentException($"The destination overlaps {name}; kernels need separate buffers.", name);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Map<TOp, TV>(Span<float> destination, ReadOnlySpan<float> x, TOp op)
        where TOp : struct, IUnaryOperator where TV : struct, IVector<TV>
    {
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float s = ref MemoryMarshal.GetReference(x);
        int n = destination.Length, last = n - TV.Count;
        for (int i = 0; i < last; i += TV.Count)
        {
            TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref s, i))), ref Unsafe.Add(ref d, i));
        }
        TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref s, last))), ref Unsafe.Add(ref d, last));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Map<TOp, TV>(Span<float> destination, ReadOnlySpan<float> x, ReadOnlySpan<float> y, TOp op)
        where TOp : struct, IBinaryOperator where TV : struct, IVector<TV>
    {
        ref float d = ref MemoryMarshal.GetReference(destination);
        ref float a = ref MemoryMarshal.GetReference(x);
        ref float b = ref MemoryMarshal.GetReference(y);
        int n = destination.Length, last = n - TV.Count;
        for (int i = 0; i < last; i += TV.Count)
        {
            TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref a, i)), TV.Load(ref Unsafe.Add(ref b, i))), ref Unsafe.Add(ref d, i));
        }
        TV.Store(op.Invoke(TV.Load(ref Unsafe.Add(ref a, last)), TV.Load(ref Unsafe.Add(ref b, last))), ref Unsafe.Add(ref d, last));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TOp, TV>(Span<float> first, Span<float> second, ReadOnlySpan<float> x, ReadOnlySpan<float> y, TOp op)
        where TOp : struct, IBinaryOperator where TV : struct, IVector<TV>
    {
        ref float d = ref MemoryMarshal.GetReference(first);
        ref float e = ref MemoryMarshal.GetReference(second);
        ref float a = ref MemoryMarshal.GetReference(x);
        ref float b = ref MemoryMarshal.GetReference(y);
        int n = first.Length, last = n - TV.Count;
        for (int i = 0; i < last; i += TV.Count)
        {
            TV v = op.Invoke(TV.Load(ref Unsafe.Add(ref a, i)), TV.Load(ref Unsafe.Add(ref b, i)));
            TV.Store(v, ref Unsafe.Add(ref d, i));
            TV.Store(v, ref Unsafe.Add(ref e, i));
        }
        TV w = op.Invoke(TV.Load(ref Unsafe.Add(ref a, last)), TV.Load(ref Unsafe.Add(ref b, last)));
        TV.Store(w, ref Unsafe.Add(ref d, last));
        TV.Store(w, ref Unsafe.Add(ref e, last));
    }
}
