namespace Pipelines.Core.Definitions;

/// <summary>A position in a workflow file, 1-based, as editors show it.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public static SourceLocation None(string file) => new(file, 0, 0);

    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}
