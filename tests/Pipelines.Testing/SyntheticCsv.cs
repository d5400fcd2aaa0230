using System.Globalization;
using System.Text;

namespace Pipelines.Testing;

/// <summary>Small labelled data for training tests: two features and a yes/no label that depends on them, with noise.</summary>
public static class SyntheticCsv
{
    /// <summary>Writes <paramref name="rows"/> rows of <c>x1,x2,y</c> to <paramref name="path"/>; the same seed gives the same file.</summary>
    public static void WriteBinary(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var sb = new StringBuilder("x1,x2,y\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble();
            var x2 = random.NextDouble();
            var positive = x1 + 0.3 * x2 + 0.2 * random.NextDouble() > 0.8;
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{x1:F4},{x2:F4},{(positive ? "yes" : "no")}\n"));
        }
        File.WriteAllText(path, sb.ToString());
    }
}
