using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace StaticNet.Simd;

/// <summary>
/// One optimizer update at one position: it loads what it needs from the parameter, the gradient and up to three
/// state buffers, and stores the new values. Buffers an optimizer does not use are empty and must not be touched.
/// </summary>
internal interface IUpdateOperator
{
    void Invoke<TV>(ref float parameter, ref float grad, ref float state1, ref float state2, ref float state3) where TV : struct, IVector<TV>;
}

/// <summary>
/// The loop skeleton of the fused optimizer steps: one pass over a stretch of parameters with the widest accelerated
/// vector, then one lane at a time for the remainder (updates are in place, so the tail cannot overlap).
/// </summary>
internal static class InPlaceUpdate
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOp>(Span<float> parameters, Span<float> grads, Span<float> state1, Span<float> state2, Span<float> state3, TOp op)
        where TOp : struct, IUpdateOperator
    {
        int n = parameters.Length;
        if (grads.Length != n || (!state1.IsEmpty && state1.Length != n) || (!state2.IsEmpty && state2.Length != n) || (!state3.IsEmpty && state3.Length != n))
        {
            throw new ArgumentException($"Optimizer buffers must all hold {n} floats.");
        }
        if (Vector512.IsHardwareAccelerated && n >= Vec512.Count) Run<TOp, Vec512>(parameters, grads, state1, state2, state3, op);
        else if (Vector256.IsHardwareAccelerated && n >= Vec256.Count) Run<TOp, Vec256>(parameters, grads, state1, state2, state3, op);
        else if (Vector128.IsHardwareAccelerated && n >= Vec128.Count) Run<TOp, Vec128>(parameters, grads, state1, state2, state3, op);
        else Run<TOp, Scalar>(parameters, grads, state1, state2, state3, op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]

    private static void Run<TOp, TV>(Span<float> parameters, Span<float> grads, Span<float> state1, Span<float> state2, Span<float> state3, TOp op)
        where TOp : struct, IUpdateOperator where TV : struct, IVector<TV>
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float g = ref MemoryMarshal.GetReference(grads);
        // An unused state buffer stands in as the gradient, so that no reference ever points nowhere; the operator ignores it.
        ref float s1 = ref MemoryMarshal.GetReference(state1.IsEmpty ? grads : state1);
        ref float s2 = ref MemoryMarshal.GetReference(state2.IsEmpty ? grads : state2);
        ref float s3 = ref MemoryMarshal.GetReference(state3.IsEmpty ? grads : state3);
        int n = parameters.Length, i = 0;
        for (; i + TV.Count <= n; i += TV.Count)
        {
            op.Invoke<TV>(ref Unsafe.Add(ref p, i), ref Unsafe.Add(ref g, i), ref Unsafe.Add(ref s1, i), ref Unsafe.Add(ref s2, i), ref Unsafe.Add(ref s3, i));
        }
        for (; i < n; i++)
        {
            op.Invoke<Scalar>(ref Unsafe.Add(ref p, i), ref Unsafe.Add(ref g, i), ref Unsafe.Add(ref s1, i), ref Unsafe.Add(ref s2, i), ref Unsafe.Add(ref s3, i));
        }
    }
}
