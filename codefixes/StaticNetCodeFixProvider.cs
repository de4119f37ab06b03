using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace StaticNet.CodeFixes;

/// <summary>
/// Fixes for the generator's diagnostics, offered as the IDE's light-bulb actions:
/// SN0001 (make the class and every type containing it partial), SN0006 (set in_features to the size that arrives,
/// or drop it for the Linear(out) form), SN0007 (use the nearest valid dimension) and SN0034 (insert [Flatten] before
/// a Linear that receives a multi-dimensional input). The values come from the diagnostic's "Fix" property, which the
/// generator sets from the shapes it inferred.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StaticNetCodeFixProvider)), Shared]
public sealed class StaticNetCodeFixProvider : CodeFixProvider
{
    // The generator's ids and property name (generator/DiagnosticDescriptors.cs; a test checks they agree).
    public const string NotPartialId = "SN0001";
    public const string LinearInFeaturesId = "SN0006";
    public const string DimOutOfRangeId = "SN0007";
    public const string LinearOnManyDimensionsId = "SN0034";
    public const string FixProperty = "Fix";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } =
        ImmutableArray.Create(NotPartialId, LinearInFeaturesId, DimOutOfRangeId, LinearOnManyDimensionsId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            SyntaxNode node = root.FindNode(diagnostic.Location.SourceSpan);
            diagnostic.Properties.TryGetValue(FixProperty, out string? fix);
            switch (diagnostic.Id)
            {
                case NotPartialId when node.FirstAncestorOrSelf<TypeDeclarationSyntax>() is TypeDeclarationSyntax type:
                    Register(context, diagnostic, $"Make '{type.Identifier.ValueText}' partial", "MakePartial",
                        c => MakePartial(context.Document, root, type, c));
                    break;
                case LinearInFeaturesId when Argument(node) is AttributeArgumentSyntax argument && int.TryParse(fix, NumberStyles.Integer, CultureInfo.InvariantCulture, out int size):
                    Register(context, diagnostic, $"Set in_features to {size}", "SetInFeatures",
                        c => Replace(context.Document, root, argument.Expression, Literal(size)));
                    if (argument.Parent is AttributeArgumentListSyntax list && list.Arguments.Count(a => a.NameEquals is null) >= 2)
                    {
                        Register(context, diagnostic, "Remove in_features (the Linear takes it from its input)", "RemoveInFeatures",
                            c => Replace(context.Document, root, list, list.WithArguments(list.Arguments.Remove(argument))));
                    }
                    break;
                case DimOutOfRangeId when Argument(node) is AttributeArgumentSyntax dim && int.TryParse(fix, NumberStyles.Integer, CultureInfo.InvariantCulture, out int nearest):
                    Register(context, diagnostic, $"Use dimension {nearest}", "NearestDim",
                        c => Replace(context.Document, root, dim.Expression, Literal(nearest)));
                    break;
                case LinearOnManyDimensionsId when node.FirstAncestorOrSelf<AttributeSyntax>() is AttributeSyntax linear:
                    Register(context, diagnostic, "Insert [Flatten] before the Linear", "InsertFlatten",
                        c => InsertFlatten(context.Document, root, linear));
                    break;
            }
        }
    }

    private static void Register(CodeFixContext context, Diagnostic diagnostic, string title, string key, System.Func<CancellationToken, Task<Document>> fix) =>
        context.RegisterCodeFix(CodeAction.Create(title, fix, equivalenceKey: key), diagnostic);

    /// <summary>The attribute argument a diagnostic underlines (the node itself, or the argument around its expression).</summary>
    private static AttributeArgumentSyntax? Argument(SyntaxNode node) => node.FirstAncestorOrSelf<AttributeArgumentSyntax>();

    /// <summary>An int literal; a negative one as the unary minus the user would write.</summary>
    private static ExpressionSyntax Literal(int value)
    {
        LiteralExpressionSyntax magnitude = SyntaxFactory.LiteralExpression(SyntaxKind.NumericLiteralExpression,
            SyntaxFactory.Literal(System.Math.Abs(value)));
        return value < 0 ? SyntaxFactory.PrefixUnaryExpression(SyntaxKind.UnaryMinusExpression, magnitude) : magnitude;
    }

    private static Task<Document> Replace(Document document, SyntaxNode root, SyntaxNode old, SyntaxNode replacement) =>
        Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(old, replacement.WithTriviaFrom(old))));

    /// <summary>Adds partial to the type and to every type around it that lacks it, before the type keyword (after the other modifiers).</summary>
    private static Task<Document> MakePartial(Document document, SyntaxNode root, TypeDeclarationSyntax type, CancellationToken cancellationToken)
    {
        TypeDeclarationSyntax[] chain = type.AncestorsAndSelf().OfType<TypeDeclarationSyntax>()
            .Where(t => !t.Modifiers.Any(SyntaxKind.PartialKeyword)).ToArray();
        SyntaxNode updated = root.ReplaceNodes(chain, (original, rewritten) =>
        {
            var declaration = (TypeDeclarationSyntax)rewritten;
            SyntaxToken partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
            if (declaration.Modifiers.Count == 0)
            {
                // partial goes before the keyword: the keyword's leading trivia (indentation, comments) moves to it.
                partial = partial.WithLeadingTrivia(declaration.Keyword.LeadingTrivia);
                declaration = declaration.WithKeyword(declaration.Keyword.WithLeadingTrivia());
            }
            return declaration.WithModifiers(declaration.Modifiers.Add(partial));
        });
        return Task.FromResult(document.WithSyntaxRoot(updated));
    }

    /// <summary>
    /// [Flatten] before the Linear: a list of its own when the Linear's list holds only it (<c>[Flatten] [Linear(10)]</c>),
    /// else an attribute just before it in the same list (<c>[Flatten, Linear(10)]</c>).
    /// </summary>
    private static Task<Document> InsertFlatten(Document document, SyntaxNode root, AttributeSyntax linear)
    {
        if (linear.Parent is not AttributeListSyntax list) return Task.FromResult(document);
        // Concrete trivia only: elastic trivia (what SyntaxFactory adds by default) would have the formatter rewrite the
        // spacing of the whole line.
        AttributeSyntax flatten = SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("Flatten")).NormalizeWhitespace();
        SyntaxNode updated;
        if (list.Attributes.Count == 1)
        {
            AttributeListSyntax own = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(flatten)).NormalizeWhitespace()
                .WithLeadingTrivia(list.GetLeadingTrivia())
                .WithTrailingTrivia(SyntaxFactory.Space);
            updated = root.ReplaceNode(list, new SyntaxNode[] { own, list.WithLeadingTrivia() });
        }
        else
        {
            int at = list.Attributes.IndexOf(linear);
            var attributes = list.Attributes.Insert(at, flatten);
            SyntaxToken comma = SyntaxFactory.Token(SyntaxFactory.TriviaList(), SyntaxKind.CommaToken, SyntaxFactory.TriviaList(SyntaxFactory.Space));
            var separators = attributes.GetSeparators().ToList();
            separators[at] = comma;
            updated = root.ReplaceNode(list, list.WithAttributes(SyntaxFactory.SeparatedList(attributes, separators)));
        }
        return Task.FromResult(document.WithSyntaxRoot(updated));
    }

}
