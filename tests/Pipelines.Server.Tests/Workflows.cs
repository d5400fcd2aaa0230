namespace Pipelines.Server.Tests;

/// <summary>Small workflows the API tests create and run.</summary>
public static class Workflows
{
    public const string Hello = """
        name: hello
        description: counts and greets
        parameters:
          count: { type: integer, default: 2, minimum: 1 }
        steps:
          - id: numbers
            uses: range@1
            with: { count: "${{ params.count }}" }
          - id: greet
            uses: log
            for_each: { items: "${{ steps.numbers.outputs.items }}", max_parallel: 2 }
            with: { message: "hello #${{ item }}" }
        """;

    public const string Gated = """
        name: gated
        steps:
          - id: approve
            uses: approval
            with: { summary: { candidate: { metrics: { auc: 0.91 } }, champion: { metrics: { auc: 0.89 } } } }
          - id: done
            uses: log
            needs: approve
            with: { message: "approved by ${{ steps.approve.outputs.decided_by }}" }
        """;

    public const string Failing = """
        name: failing
        steps:
          - id: boom
            uses: fail
            with: { message: "it broke" }
        """;
}
