using System;

namespace StaticNet;

/// <summary>
/// The compute kernels that generated Forward and Backward methods call, in pairs (XForward / XBackward), one file per op.
/// Arguments come in one order everywhere: outputs, inputs, parameters, then sizes. Backward kernels write the
/// input gradient and accumulate (+=) into parameter gradients. Each kernel checks its span lengths once on entry,
/// so a wrong call is an ArgumentException, never a read or write out of bounds.
/// </summary>
public static partial class Kernels
{
    private static void CheckLength(int actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} must hold {expected} floats, but it holds {actual}.", name);
        }
    }

    private static void CheckPositive(int value, string name)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must not be negative.");
    }
}
