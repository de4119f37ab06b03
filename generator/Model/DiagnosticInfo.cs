using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace StaticNet.Generator.Model;

/// <summary>
/// A diagnostic as plain, equatable data; turned into a Roslyn Diagnostic only when reported. Fix, when set, becomes
/// the diagnostic's "Fix" property, which the code fixes read.
/// </summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> MessageArgs, string? Fix = null)
{
    public Diagnostic ToDiagnostic()
    {
        DiagnosticDescriptor descriptor = DiagnosticDescriptors.ById(Id);
        object?[] args = new object?[MessageArgs.Count];
        for (int i = 0; i < args.Length; i++) args[i] = MessageArgs[i];
        ImmutableDictionary<string, string?>? properties = Fix is null ? null : ImmutableDictionary<string, string?>.Empty.Add(DiagnosticDescriptors.FixProperty, Fix);
        return Diagnostic.Create(descriptor, Location?.ToLocation(), properties, args);
    }
}

/// <summary>
/// The diagnostics of one class. A class rather than the <see cref="EquatableArray{T}"/> it holds: pipeline steps whose
/// values are reference types share the compiler's generic code, where a struct would have it compiled anew at every build.
/// </summary>
internal sealed record DiagnosticList(EquatableArray<DiagnosticInfo> Items)
{
    public static readonly DiagnosticList Empty = new(EquatableArray<DiagnosticInfo>.Empty);
}

/// <summary>A source location without the syntax tree, so that it can sit in a cached value.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}
