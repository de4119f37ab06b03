using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace StaticNet.Generator.Model;

/// <summary>A diagnostic as plain, equatable data; turned into a Roslyn Diagnostic only when reported.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, EquatableArray<string> MessageArgs)
{
    public Diagnostic ToDiagnostic()
    {
        DiagnosticDescriptor descriptor = DiagnosticDescriptors.ById(Id);
        object?[] args = new object?[MessageArgs.Count];
        for (int i = 0; i < args.Length; i++) args[i] = MessageArgs[i];
        return Diagnostic.Create(descriptor, Location?.ToLocation(), args);
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
