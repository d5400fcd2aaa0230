using Pipelines.Core.Definitions;

namespace Pipelines.Core.Validation;

/// <summary>Finds dependency cycles (through needs and expression references) and reports each once, as a path.</summary>
internal static class CycleRule
{
    private enum Mark { Unvisited, OnStack, Done }

    public static void Check(StepScope scope, List<ValidationError> errors)
    {
        var marks = scope.Steps.Keys.ToDictionary(id => id, _ => Mark.Unvisited);
        var stack = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in scope.Definition.Steps)
            if (scope.Steps.TryGetValue(step.Id, out var s) && ReferenceEquals(s, step))
                Visit(step.Id);

        void Visit(string id)
        {
            marks[id] = Mark.OnStack;
            stack.Add(id);
            // Self-references and unknown ids are reported by the step rules; here they would be noise.
            foreach (var next in scope.Steps[id].DependsOn.Where(d => d != id && scope.Steps.ContainsKey(d)))
            {
                if (marks[next] == Mark.OnStack) Report(stack.Skip(stack.IndexOf(next)).ToList());
                else if (marks[next] == Mark.Unvisited) Visit(next);
            }
            stack.RemoveAt(stack.Count - 1);
            marks[id] = Mark.Done;
        }

        void Report(List<string> cycle)
        {
            // The DFS walks dependencies (a depends on b); show the cycle starting at its earliest-declared step.
            var start = cycle.IndexOf(cycle.MinBy(id => scope.Indexes[id])!);
            var path = cycle.Skip(start).Concat(cycle.Take(start)).ToList();
            if (!reported.Add(string.Join(" ", path.Order(StringComparer.Ordinal)))) return;
            var first = scope.Steps[path[0]];
            var index = scope.Indexes[path[0]];
            errors.Add(new ValidationError(first.Location, $"steps[{index}]",
                $"dependency cycle: {string.Join(" -> ", path.Append(path[0]))}"));
        }
    }
}
