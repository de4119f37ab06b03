using System;

namespace StaticNet.Tests.Reference;

/// <summary>erf and erfc in double precision, for the reference GELU (System.Math has neither).</summary>
internal static class SpecialFunctions
{
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double z = Math.Abs(x);
        double result = z < 2.5 ? ErfSeries(z) : 1 - ErfcContinuedFraction(z);
        return x < 0 ? -result : result;
    }

    /// <summary>erfc(x) = 1 - erf(x), computed directly for large x, where 1 - erf(x) would round to 0.</summary>
    public static double Erfc(double x) => x >= 2.5 ? ErfcContinuedFraction(x) : 1 - Erf(x);

    /// <summary>Maclaurin series, accurate to double rounding for |x| &lt; 2.5.</summary>
    private static double ErfSeries(double x)
    {
        double term = x, sum = x, x2 = x * x;
        for (int n = 1; n < 200; n++)
        {
            term *= -x2 / n;
            double next = term / (2 * n + 1);
            sum += next;
            if (Math.Abs(next) < 1e-17 * Math.Abs(sum)) break;
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    /// <summary>erfc by its continued fraction (modified Lentz), accurate for x &gt;= 2.5.</summary>
    private static double ErfcContinuedFraction(double x)
    {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double a = n / 2.0;
            d = x + a * d;
            d = Math.Abs(d) < tiny ? tiny : d;
            c = x + a / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }
}
