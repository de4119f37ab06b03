namespace StaticNet.Generator.Model;

/// <summary>What parsing one [Network] class yields: a model to emit (null when there are errors) and its diagnostics.</summary>
internal sealed record ParseResult(NetworkModel? Model, EquatableArray<DiagnosticInfo> Diagnostics);
