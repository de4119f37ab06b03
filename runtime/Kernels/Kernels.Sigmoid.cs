using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using StaticNet.Simd;

namespace StaticNet;

public static partial class Kernels
{
    /// <summary>output = 1 / (1 + exp(-input)) (torch.nn.Sigmoid).</summary>
    public static void SigmoidForward(Span<float> output, ReadOnlySpan<float> input) => Elementwise.Map(output, input, default(SigmoidOperator));

    private readonly struct SigmoidOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x) where TV : struct, IVector<TV> =>
            TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), TV.Exp(TV.Negate(x))));
    }

    /// <summary>
    /// activated = sigmoid(values) (the bits of <see cref="SigmoidForward"/>), and values overwritten with the sigmoid's
    /// derivative there, for a backward that then only multiplies: at x &gt;= 0 (and NaN) as e r r with e = exp(-x) and
    /// r = 1 / (1 + e), the factor <see cref="SigmoidBackward"/> computes, bit for bit; below 0 as s (1 - s) from the
    /// output s, which keeps its digits there (s &lt; 1/2; a few ulps, as long as s is not subnormal, x above about -87)
    /// and spares the second exponential that e = exp(-|x|) would cost.
    /// </summary>
    internal static void SigmoidAndDerivative(Span<float> activated, Span<float> values) => SigmoidAndDerivative(activated, values, values);

    /// <summary>
    /// As <see cref="SigmoidAndDerivative(Span{float}, Span{float})"/>, with the derivative written to
    /// <paramref name="derivative"/>: <paramref name="values"/> itself, or a span that overlaps neither it nor
    /// <paramref name="activated"/>.
    /// </summary>
    internal static void SigmoidAndDerivative(Span<float> activated, Span<float> derivative, ReadOnlySpan<float> values)
    {
        if (activated.Length != values.Length) throw new ArgumentException($"values holds {values.Length} floats, but activated holds {activated.Length}.", nameof(values));
        if (derivative.Length != values.Length) throw new ArgumentException($"values holds {values.Length} floats, but derivative holds {derivative.Length}.", nameof(derivative));
        if (activated.Overlaps(values) || activated.Overlaps(derivative)) throw new ArgumentException("activated overlaps values or derivative; kernels need separate buffers.", nameof(activated));
        bool inPlace = Unsafe.AreSame(ref MemoryMarshal.GetReference(derivative), ref MemoryMarshal.GetReference(values));
        if (!inPlace && derivative.Overlaps(values)) throw new ArgumentException("derivative overlaps values without being them; kernels need separate buffers.", nameof(derivative));
        if (values.IsEmpty) return;
        ref float s = ref MemoryMarshal.GetReference(activated);
        ref float d = ref MemoryMarshal.GetReference(derivative);
        ref float x = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated && values.Length >= Vec512.Count) SigmoidAndDerivative<Vec512>(ref s, ref d, ref x, values.Length);
        else if (Vector256.IsHardwareAccelerated && values.Length >= Vec256.Count) SigmoidAndDerivative<Vec256>(ref s, ref d, ref x, values.Length);
        else if (Vector128.IsHardwareAccelerated && values.Length >= Vec128.Count) SigmoidAndDerivative<Vec128>(ref s, ref d, ref x, values.Length);
        else SigmoidAndDerivative<Scalar>(ref s, ref d, ref x, values.Length);
    }

    /// <summary>
    /// Whole vectors, the last one overlapping the one before: computed first, from the values before any is overwritten
    /// (the derivative may be written over them), and stored last, so every element is computed by the same vector code
    /// whatever its position.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SigmoidAndDerivative<TV>(ref float s, ref float d, ref float x, int n) where TV : struct, IVector<TV>
    {
        int last = n - TV.Count;
        (TV lastOutput, TV lastDerivative) = SigmoidAndDerivative(TV.Load(ref Unsafe.Add(ref x, last)));
        for (int i = 0; i < last; i += TV.Count)
        {
            (TV output, TV derivative) = SigmoidAndDerivative(TV.Load(ref Unsafe.Add(ref x, i)));
            TV.Store(output, ref Unsafe.Add(ref s, i));
            TV.Store(derivative, ref Unsafe.Add(ref d, i));
        }
        TV.Store(lastOutput, ref Unsafe.Add(ref s, last));
        TV.Store(lastDerivative, ref Unsafe.Add(ref d, last));
    }

    /// <summary>One vector's sigmoid and derivative, the bits of <see cref="SigmoidAndDerivative(Span{float}, Span{float})"/> where it runs Vector512.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Output, Vector512<float> Derivative) SigmoidAndDerivative(Vector512<float> x)
    {
        (Vec512 output, Vec512 derivative) = SigmoidAndDerivative(new Vec512(x));
        return (output.Value, derivative.Value);
    }

    /// <summary>One vector's sigmoid alone: the bits of <see cref="SigmoidAndDerivative(Vector512{float})"/>'s output (and of <see cref="SigmoidForward"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Sigmoid(Vector512<float> x) => default(SigmoidOperator).Invoke(new Vec512(x)).Value;

    /// <summary>One vector's sigmoid alone, at any width: the bits of <see cref="SigmoidForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Sigmoid<TV>(TV x) where TV : struct, IVector<TV> => default(SigmoidOperator).Invoke(x);

    /// <summary>One vector's sigmoid and derivative, at any width: the bits of <see cref="SigmoidAndDerivative(Span{float}, Span{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (TV Output, TV Derivative) SigmoidAndDerivative<TV>(TV x) where TV : struct, IVector<TV>
    {
        TV one = TV.Create(1f);
        TV e = TV.Exp(TV.Negate(x));
        TV r = TV.Divide(one, TV.Add(one, e));
        // r (1 - r) or r (e r): the last multiplication shared (e r r is the same product either way round).
        return (r, TV.Multiply(r, TV.SelectWhereGreater(TV.Create(0f), x, TV.Subtract(one, r), TV.Multiply(e, r))));
    }

    /// <summary>
    /// inputGrad = outputGrad * sigmoid(input) * sigmoid(-input), from the input: as e / (1 + e)^2 with e = exp(-|input|),
    /// accurate to a few ulps everywhere, where output * (1 - output) loses all its digits once the output rounds to 1.
    /// </summary>
    public static void SigmoidBackward(Span<float> inputGrad, ReadOnlySpan<float> outputGrad, ReadOnlySpan<float> input) =>
        Elementwise.Map(inputGrad, outputGrad, input, default(SigmoidBackwardOperator));

    private readonly struct SigmoidBackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV dy, TV x) where TV : struct, IVector<TV>
        {
            TV e = TV.Exp(TV.Negate(TV.Abs(x)));
            TV r = TV.Divide(TV.Create(1f), TV.Add(TV.Create(1f), e));
            return TV.Multiply(dy, TV.Multiply(TV.Multiply(e, r), r));
        }
    }
}
