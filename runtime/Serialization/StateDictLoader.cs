using System;
using System.Collections.Generic;
using System.Linq;

namespace StaticNet;

/// <summary>The tensors of a file as the state_dict loader sees them: safetensors, or an ONNX model's initializers.</summary>
internal interface IStateSource
{
    /// <summary>Every tensor's name, in the file's order.</summary>
    IEnumerable<string> Names { get; }

    /// <summary>The tensor's shape and dtype (safetensors' names: F32, F16, BF16, F64, I64, I32, ...), if the file has it.</summary>
    bool TryFind(string name, out IReadOnlyList<int> shape, out string dtype);

    /// <summary>Reads a floating-point tensor into <paramref name="destination"/>, converting to float.</summary>
    void ReadFloats(string name, Span<float> destination);

    /// <summary>Reads an integer tensor into <paramref name="destination"/>.</summary>
    void ReadInt64s(string name, Span<long> destination);
}

/// <summary>
/// Loads a module's state_dict from a file's tensors by name, as torch's load_state_dict: every missing, unexpected,
/// wrongly shaped or wrongly typed tensor is found before anything is read; strict, any of them throws
/// <see cref="StateDictMismatchException"/> and nothing is loaded.
/// </summary>
internal static class StateDictLoader
{
    public static bool IsFloatingPoint(string dtype) => dtype is "F32" or "F16" or "BF16" or "F64";

    public static bool IsInteger(string dtype) => dtype is "I64" or "I32";

    /// <summary>Matches and (unless <paramref name="apply"/> is false, to check a file before changing anything else) reads.</summary>
    public static LoadResult Load((string Name, StateTensor Tensor)[] state, IStateSource source, string path, bool strict, string prefix, bool apply = true)
    {
        var missing = new List<string>();
        var mismatched = new List<string>();
        var matched = new List<(StateTensor Tensor, string Name)>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, StateTensor t) in state)
        {
            expected.Add(prefix + name);
            if (!source.TryFind(prefix + name, out IReadOnlyList<int> shape, out string dtype))
            {
                missing.Add(name);
            }
            else if (!shape.SequenceEqual(t.Shape))
            {
                mismatched.Add($"{name} is [{string.Join(", ", shape)}] in the file but [{string.Join(", ", t.Shape)}] in the module");
            }
            else if (t.DType == TensorDType.F32 && !IsFloatingPoint(dtype))
            {
                mismatched.Add($"{name} is {dtype} in the file, but F32 tensors load from F32, F16, BF16 or F64");
            }
            else if (t.DType == TensorDType.I64 && !IsInteger(dtype))
            {
                mismatched.Add($"{name} is {dtype} in the file, but I64 tensors load from I64 or I32");
            }
            else
            {
                matched.Add((t, prefix + name));
            }
        }
        var unexpected = source.Names.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !expected.Contains(n)).Select(n => n[prefix.Length..]).ToList();
        var result = new LoadResult(missing, unexpected, mismatched);
        if (strict && !result.IsExactMatch) throw new StateDictMismatchException(path, result);
        if (!apply) return result;
        Parameter.ValuesMayChange();
        foreach ((StateTensor t, string name) in matched)
        {
            if (t.DType == TensorDType.F32) source.ReadFloats(name, t.FloatMemory.Span);
            else source.ReadInt64s(name, t.Int64Memory.Span);
        }
        return result;
    }
}
