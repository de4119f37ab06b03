using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace StaticNet.Generator.Emit;

/// <summary>
/// Numbers, strings and identifiers as C# text, culture-invariant, so generated code is the same everywhere; every text
/// taken from user code goes through <see cref="String"/>, <see cref="InComment"/> or <see cref="Identifier"/>.
/// </summary>
internal static class Code
{
    public const string Span = "global::System.Span<float>";
    public const string Kernels = "global::StaticNet.Kernels";

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Ints(IEnumerable<int> values) => string.Join(", ", values.Select(Int));

    /// <summary>A float literal: <c>0.1f</c>.</summary>
    public static string Real(double value) => Number(value) + "f";

    /// <summary>A float as PyTorch's repr shows it, for comments: <c>0.1</c>, <c>1E-05</c>.</summary>
    public static string Number(double value) => ((float)value).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A per-sample count times the batch: <c>batch</c> or <c>batch * 28</c>.</summary>
    public static string PerBatch(int perSample) => perSample == 1 ? "batch" : $"batch * {Int(perSample)}";

    /// <summary>A per-sample offset times the largest batch, as written in a Slice call.</summary>
    public static string Scaled(int perSample) => perSample == 0 ? "0" : $"{Int(perSample)} * n";

    /// <summary>PyTorch's bool repr: True / False.</summary>
    public static string Bool(bool value) => value ? "True" : "False";

    /// <summary>A string literal with quotes, every character escaped as needed (quotes, backslashes, line breaks, lone surrogates).</summary>
    public static string String(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

    /// <summary>User text inside a // comment: escaped as in a string literal, so that no line break can end the comment.</summary>
    public static string InComment(string value) => SymbolDisplay.FormatLiteral(value, quote: false);

    /// <summary>User text inside a /// doc comment: escaped as in a comment (no line break), then for XML (&amp;, &lt;, &gt;).</summary>
    public static string Xml(string value) => InComment(value).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>A symbol's name as a C# identifier: <c>@event</c> for a keyword, the name itself otherwise.</summary>
    public static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>
    /// A generated file's name from a type's dotted name: letters, digits, '_', '.' and '-' kept, anything else as '_'
    /// (Roslyn refuses some characters in hint names); with <paramref name="disambiguate"/>, a hash of the exact name
    /// is added, for names that differ only in case or in replaced characters.
    /// </summary>
    public static string HintName(string dottedName, bool disambiguate)
    {
        var text = new StringBuilder(dottedName.Length + 16);
        foreach (char c in dottedName) text.Append(c < 128 && (char.IsLetterOrDigit(c) || c == '_' || c == '.' || c == '-') ? c : '_');
        if (disambiguate)
        {
            uint hash = 2166136261; // FNV-1a over the UTF-16 code units: stable across processes and machines
            foreach (char c in dottedName) hash = (hash ^ c) * 16777619;
            text.Append('.').Append(hash.ToString("x8", CultureInfo.InvariantCulture));
        }
        return text.Append(".g.cs").ToString();
    }
}
