using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StaticNet.Simd;

/// <summary>
/// One vector width of floats. Kernels are written once against this interface and instantiated for
/// <see cref="Vec512"/>, <see cref="Vec256"/>, <see cref="Vec128"/> and <see cref="Scalar"/>; the JIT specialises each.
/// Masks from comparisons are vectors whose lanes are all ones (true) or all zeros (false).
/// </summary>
internal interface IVector<TSelf> where TSelf : struct, IVector<TSelf>
{
    static abstract int Count { get; }
    static abstract TSelf Create(float value);
    static abstract TSelf Load(ref float source);
    static abstract void Store(TSelf value, ref float destination);
    static abstract TSelf Add(TSelf a, TSelf b);
    static abstract TSelf Subtract(TSelf a, TSelf b);
    /// <summary>-a: the sign bit flipped (one xor, where 0 - a takes a zeroing and a subtraction).</summary>
    static abstract TSelf Negate(TSelf a);
    static abstract TSelf Multiply(TSelf a, TSelf b);
    static abstract TSelf Divide(TSelf a, TSelf b);
    /// <summary>a * b + c, fused where the hardware has FMA.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
    static abstract TSelf Max(TSelf a, TSelf b);
    static abstract TSelf Abs(TSelf a);
    /// <summary>e^a to about 1.2 ulps (<see cref="VectorMath.Exp{TV}"/> in the vector forms; MathF.Exp in the scalar one).</summary>
    static abstract TSelf Exp(TSelf a);
    /// <summary>Rounds to the nearest integer, ties to even.</summary>
    static abstract TSelf Round(TSelf a);
    /// <summary>a * 2^n for integral n in [-150, 128], as two multiplications by powers of two written into floats' exponent bits.</summary>
    static abstract TSelf ScaleByPowerOfTwo(TSelf a, TSelf n);
    static abstract TSelf Sqrt(TSelf a);
    static abstract TSelf GreaterThan(TSelf a, TSelf b);
    static abstract TSelf Select(TSelf mask, TSelf whenTrue, TSelf whenFalse);
    /// <summary>
    /// Select(GreaterThan(a, b), whenGreater, otherwise) as one expression, which the JIT compiles to a compare into a
    /// mask register and a masked blend with AVX-512 (through a vector mask, as two separate calls give, it took a
    /// Sigmoid with its derivative 10% longer).
    /// </summary>
    static abstract TSelf SelectWhereGreater(TSelf a, TSelf b, TSelf whenGreater, TSelf otherwise);
    static abstract TSelf CopySign(TSelf value, TSelf sign);
    static abstract float Sum(TSelf a);
    /// <summary>
    /// The sums of four vectors' lanes at once, sharing the shuffles. <see cref="Sum"/> adds in the same order, so a
    /// dot product comes out the same bit for bit whichever of the two reduces it (a row's output does not depend on
    /// the rest of the batch).
    /// </summary>
    static abstract Vector128<float> Sum4(TSelf a, TSelf b, TSelf c, TSelf d);
}

/// <summary>Elementary functions written once against <see cref="IVector{TSelf}"/>.</summary>
internal static class VectorMath
{
    private const float MinArgument = -103.972076f, MaxArgument = 88.7228394f; // e^x is a float (subnormal below -87.34) in between

    /// <summary>
    /// e^x as Cephes' expf: n = round(x log2 e), r = x - n ln 2 (in two parts, so r is exact), a degree-7 polynomial for
    /// e^r, times 2^n in two steps (so that subnormal results come out). Measured 1.22 ulps at worst over [-87, 88]
    /// (Vector512.Exp: 1.77) at about 60% of its cost: it stays in single precision. Below -103.97 it returns 0, above
    /// 88.72 +infinity; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TV>(TV x) where TV : struct, IVector<TV>
    {
        TV low = TV.Create(MinArgument), high = TV.Create(MaxArgument);
        TV c = TV.SelectWhereGreater(low, x, low, TV.SelectWhereGreater(x, high, high, x));
        TV result = ExpOfClamped(c);
        result = TV.SelectWhereGreater(low, x, TV.Create(0f), result);
        return TV.SelectWhereGreater(x, high, TV.Create(float.PositiveInfinity), result);
    }

    /// <summary>
    /// <see cref="Exp{TV}"/> with the argument clamped to [-104, 89] by vmaxps and vminps (which pass NaN through), as
    /// <see cref="Exp512"/> does: past the ends the two-step scaling overflows to +infinity and underflows to 0 by itself,
    /// so the selects there are not needed. The same bits as Exp and Exp512 everywhere (every float checked).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp256(Vector256<float> x) =>
        ExpOfClamped(new Vec256(Avx.Min(Vector256.Create(89f), Avx.Max(Vector256.Create(-104f), x)))).Value;

    /// <summary><see cref="Exp256"/> in 128-bit vectors (minps and maxps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp128(Vector128<float> x) =>
        ExpOfClamped(new Vec128(Sse.Min(Vector128.Create(89f), Sse.Max(Vector128.Create(-104f), x)))).Value;

    /// <summary>e^c for c within [-104, 89] (or NaN): the reduction, the polynomial and the scaling.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpOfClamped<TV>(TV c) where TV : struct, IVector<TV>
    {
        TV n = TV.Round(TV.Multiply(c, TV.Create(1.44269504088896341f)));
        TV r = TV.MultiplyAdd(n, TV.Create(-0.693359375f), c);
        r = TV.MultiplyAdd(n, TV.Create(2.12194440e-4f), r);
        TV p = TV.MultiplyAdd(TV.Create(1.9875691500E-4f), r, TV.Create(1.3981999507E-3f));
        p = TV.MultiplyAdd(p, r, TV.Create(8.3334519073E-3f));
        p = TV.MultiplyAdd(p, r, TV.Create(4.1665795894E-2f));
        p = TV.MultiplyAdd(p, r, TV.Create(1.6666665459E-1f));
        p = TV.MultiplyAdd(p, r, TV.Create(5.0000001201E-1f));
        p = TV.MultiplyAdd(p, TV.Multiply(r, r), TV.Add(r, TV.Create(1f)));
        return TV.ScaleByPowerOfTwo(p, n);
    }

    /// <summary>
    /// <see cref="Exp{TV}"/> with AVX-512's own instructions: the same reduction and polynomial, so the same bits for
    /// every finite result, in about half the time (LeNet's sigmoids: 7.2 -> 3.6 ns per vector on AMD Zen 5). The
    /// argument is clamped to [-104, 89] with vmaxps/vminps, which pass NaN through; vscalefps multiplies by 2^n in one
    /// rounding (subnormal results included), and overflows to +infinity and underflows to 0 by itself past the ends,
    /// where the portable version selects them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp512(Vector512<float> x)
    {
        // vmaxps/vminps return their second operand when either is NaN.
        Vector512<float> c = Avx512F.Min(Vector512.Create(89f), Avx512F.Max(Vector512.Create(-104f), x));
        Vector512<float> n = Avx512F.RoundScale(c * Vector512.Create(1.44269504088896341f), 0); // to nearest, ties to even
        Vector512<float> r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), c);
        r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        Vector512<float> p = Avx512F.FusedMultiplyAdd(Vector512.Create(1.9875691500E-4f), r, Vector512.Create(1.3981999507E-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073E-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894E-2f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459E-1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201E-1f));
        p = Avx512F.FusedMultiplyAdd(p, r * r, r + Vector512.Create(1f));
        return Avx512F.Scale(p, n);
    }
}

/// <summary>Horizontal sums of four vectors with SSE3/AVX horizontal adds, for <see cref="IVector{TSelf}.Sum4"/>.</summary>
internal static class HorizontalSums
{
    /// <summary>[sum a, sum b, sum c, sum d] of four Vector256.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (!Avx.IsSupported) return Vector128.Create(Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
        // Pairs, then quads: each 128-bit half ends as [a, b, c, d] over its half of the lanes.
        Vector256<float> quads = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
        return quads.GetLower() + quads.GetUpper();
    }

    /// <summary>[sum a, sum b, sum c, sum d] of four Vector128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        if (!Sse3.IsSupported) return Vector128.Create(Vector128.Sum(a), Vector128.Sum(b), Vector128.Sum(c), Vector128.Sum(d));
        return Sse3.HorizontalAdd(Sse3.HorizontalAdd(a, b), Sse3.HorizontalAdd(c, d));
    }
}

internal readonly struct Vec512(Vector512<float> value) : IVector<Vec512>
{
    private readonly Vector512<float> _v = value;

    public Vector512<float> Value => _v;
    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Create(float value) => new(Vector512.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Load(ref float source) => new(Vector512.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec512 value, ref float destination) => value._v.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Add(Vec512 a, Vec512 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Subtract(Vec512 a, Vec512 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Negate(Vec512 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Multiply(Vec512 a, Vec512 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Divide(Vec512 a, Vec512 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 MultiplyAdd(Vec512 a, Vec512 b, Vec512 c) => new(Vector512.MultiplyAddEstimate(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Max(Vec512 a, Vec512 b) => new(Vector512.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Abs(Vec512 a) => new(Vector512.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Exp(Vec512 a) => Avx512F.IsSupported ? new(VectorMath.Exp512(a._v)) : VectorMath.Exp(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Round(Vec512 a) => new(Vector512.Round(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 ScaleByPowerOfTwo(Vec512 a, Vec512 n)
    {
        Vector512<int> whole = Vector512.ConvertToInt32(n._v), half = Vector512.ShiftRightArithmetic(whole, 1);
        Vector512<float> first = Vector512.ShiftLeft(half + Vector512.Create(127), 23).AsSingle();
        Vector512<float> second = Vector512.ShiftLeft(whole - half + Vector512.Create(127), 23).AsSingle();
        return new(a._v * first * second);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Sqrt(Vec512 a) => new(Vector512.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 GreaterThan(Vec512 a, Vec512 b) => new(Vector512.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 Select(Vec512 mask, Vec512 t, Vec512 f) => new(Vector512.ConditionalSelect(mask._v, t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 SelectWhereGreater(Vec512 a, Vec512 b, Vec512 t, Vec512 f) =>
        new(Vector512.ConditionalSelect(Vector512.GreaterThan(a._v, b._v), t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec512 CopySign(Vec512 value, Vec512 sign) => new(Vector512.CopySign(value._v, sign._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec512 a) => Sum4(a, a, a, a).ToScalar();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sum4(Vec512 a, Vec512 b, Vec512 c, Vec512 d) =>
        HorizontalSums.Sum4(a._v.GetLower() + a._v.GetUpper(), b._v.GetLower() + b._v.GetUpper(), c._v.GetLower() + c._v.GetUpper(), d._v.GetLower() + d._v.GetUpper());
}

internal readonly struct Vec256(Vector256<float> value) : IVector<Vec256>
{
    private readonly Vector256<float> _v = value;

    public Vector256<float> Value => _v;
    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Create(float value) => new(Vector256.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Load(ref float source) => new(Vector256.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec256 value, ref float destination) => value._v.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Add(Vec256 a, Vec256 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Subtract(Vec256 a, Vec256 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Negate(Vec256 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Multiply(Vec256 a, Vec256 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Divide(Vec256 a, Vec256 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 MultiplyAdd(Vec256 a, Vec256 b, Vec256 c) => new(Vector256.MultiplyAddEstimate(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Max(Vec256 a, Vec256 b) => new(Vector256.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Abs(Vec256 a) => new(Vector256.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Exp(Vec256 a) => Avx.IsSupported ? new(VectorMath.Exp256(a._v)) : VectorMath.Exp(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Round(Vec256 a) => new(Vector256.Round(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 ScaleByPowerOfTwo(Vec256 a, Vec256 n)
    {
        // n is whole and within int's range here: the plain truncating conversion (Vector256.ConvertToInt32 saturates, four
        // more instructions without AVX-512; a NaN's result is NaN either way).
        Vector256<int> whole = Avx.IsSupported ? Avx.ConvertToVector256Int32WithTruncation(n._v) : Vector256.ConvertToInt32(n._v), half = Vector256.ShiftRightArithmetic(whole, 1);
        Vector256<float> first = Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle();
        Vector256<float> second = Vector256.ShiftLeft(whole - half + Vector256.Create(127), 23).AsSingle();
        return new(a._v * first * second);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Sqrt(Vec256 a) => new(Vector256.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 GreaterThan(Vec256 a, Vec256 b) => new(Vector256.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 Select(Vec256 mask, Vec256 t, Vec256 f) => new(Vector256.ConditionalSelect(mask._v, t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 SelectWhereGreater(Vec256 a, Vec256 b, Vec256 t, Vec256 f) =>
        new(Vector256.ConditionalSelect(Vector256.GreaterThan(a._v, b._v), t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec256 CopySign(Vec256 value, Vec256 sign) => new(Vector256.CopySign(value._v, sign._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec256 a) => Sum4(a, a, a, a).ToScalar();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sum4(Vec256 a, Vec256 b, Vec256 c, Vec256 d) => HorizontalSums.Sum4(a._v, b._v, c._v, d._v);
}

internal readonly struct Vec128(Vector128<float> value) : IVector<Vec128>
{
    private readonly Vector128<float> _v = value;

    public Vector128<float> Value => _v;
    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Create(float value) => new(Vector128.Create(value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Load(ref float source) => new(Vector128.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vec128 value, ref float destination) => value._v.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Add(Vec128 a, Vec128 b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Subtract(Vec128 a, Vec128 b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Negate(Vec128 a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Multiply(Vec128 a, Vec128 b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Divide(Vec128 a, Vec128 b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 MultiplyAdd(Vec128 a, Vec128 b, Vec128 c) => new(Vector128.MultiplyAddEstimate(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Max(Vec128 a, Vec128 b) => new(Vector128.Max(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Abs(Vec128 a) => new(Vector128.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Exp(Vec128 a) => Sse.IsSupported ? new(VectorMath.Exp128(a._v)) : VectorMath.Exp(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Round(Vec128 a) => new(Vector128.Round(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 ScaleByPowerOfTwo(Vec128 a, Vec128 n)
    {
        Vector128<int> whole = Sse2.IsSupported ? Sse2.ConvertToVector128Int32WithTruncation(n._v) : Vector128.ConvertToInt32(n._v), half = Vector128.ShiftRightArithmetic(whole, 1);
        Vector128<float> first = Vector128.ShiftLeft(half + Vector128.Create(127), 23).AsSingle();
        Vector128<float> second = Vector128.ShiftLeft(whole - half + Vector128.Create(127), 23).AsSingle();
        return new(a._v * first * second);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Sqrt(Vec128 a) => new(Vector128.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 GreaterThan(Vec128 a, Vec128 b) => new(Vector128.GreaterThan(a._v, b._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 Select(Vec128 mask, Vec128 t, Vec128 f) => new(Vector128.ConditionalSelect(mask._v, t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 SelectWhereGreater(Vec128 a, Vec128 b, Vec128 t, Vec128 f) =>
        new(Vector128.ConditionalSelect(Vector128.GreaterThan(a._v, b._v), t._v, f._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vec128 CopySign(Vec128 value, Vec128 sign) => new(Vector128.CopySign(value._v, sign._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vec128 a) => Sum4(a, a, a, a).ToScalar();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sum4(Vec128 a, Vec128 b, Vec128 c, Vec128 d) => HorizontalSums.Sum4(a._v, b._v, c._v, d._v);
}

/// <summary>The one-lane form: the fallback without SIMD, and the tail of short spans.</summary>
internal readonly struct Scalar(float value) : IVector<Scalar>
{
    private readonly float _v = value;

    public static int Count => 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Create(float value) => new(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Load(ref float source) => new(source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Scalar value, ref float destination) => destination = value._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Add(Scalar a, Scalar b) => new(a._v + b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Subtract(Scalar a, Scalar b) => new(a._v - b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Negate(Scalar a) => new(-a._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Multiply(Scalar a, Scalar b) => new(a._v * b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Divide(Scalar a, Scalar b) => new(a._v / b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar MultiplyAdd(Scalar a, Scalar b, Scalar c) => new(float.MultiplyAddEstimate(a._v, b._v, c._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Max(Scalar a, Scalar b) => new(float.IsNaN(a._v) || a._v > b._v ? a._v : b._v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Abs(Scalar a) => new(System.MathF.Abs(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Exp(Scalar a) => new(System.MathF.Exp(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Round(Scalar a) => new(System.MathF.Round(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar ScaleByPowerOfTwo(Scalar a, Scalar n) => new(System.MathF.ScaleB(a._v, (int)n._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Sqrt(Scalar a) => new(System.MathF.Sqrt(a._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar GreaterThan(Scalar a, Scalar b) => new(a._v > b._v ? AllOnes : 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar Select(Scalar mask, Scalar t, Scalar f) => mask._v != 0f ? t : f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar SelectWhereGreater(Scalar a, Scalar b, Scalar t, Scalar f) => a._v > b._v ? t : f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Scalar CopySign(Scalar value, Scalar sign) => new(System.MathF.CopySign(value._v, sign._v));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Scalar a) => a._v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sum4(Scalar a, Scalar b, Scalar c, Scalar d) => Vector128.Create(a._v, b._v, c._v, d._v);

    // All bits set: a NaN, which compares unequal to 0 and so selects whenTrue.
    private static readonly float AllOnes = System.BitConverter.Int32BitsToSingle(-1);
}
