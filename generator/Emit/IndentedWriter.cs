using System.Text;

namespace StaticNet.Generator.Emit;

/// <summary>Builds source text line by line with four-space indentation and \n line endings, for byte-identical output everywhere.</summary>
internal sealed class IndentedWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    /// <summary>A writer at this one's depth whose text goes elsewhere, for a part that is written before what precedes it.</summary>
    public IndentedWriter Fork() => new() { _depth = _depth };

    /// <summary>Appends what <paramref name="other"/> wrote.</summary>
    public IndentedWriter Append(IndentedWriter other)
    {
        _text.Append(other._text);
        return this;
    }

    public IndentedWriter Line(string line = "")
    {
        if (line.Length > 0) _text.Append(' ', _depth * 4).Append(line);
        _text.Append('\n');
        return this;
    }

    /// <summary>Writes the header lines (a signature and, say, its base call), then an opening brace, and indents.</summary>
    public IndentedWriter Open(params string[] header)
    {
        foreach (string line in header) Line(line);
        Line("{");
        _depth++;
        return this;
    }

    public IndentedWriter Close(string suffix = "")
    {
        _depth--;
        return Line("}" + suffix);
    }

    public override string ToString() => _text.ToString();
}
