namespace StaticNet.Generator.Model;

/// <summary>What parsing one attributed class yields: a model to emit (null when there are errors) and its diagnostics.</summary>
internal sealed record ParseResult<TModel>(TModel? Model, DiagnosticList Diagnostics)
    where TModel : class;
