global using NUnit.Framework;
global using Pipelines.Testing;

// Fixtures run two at a time: most of their time is spent waiting on pipelines processes, PostgreSQL and MLflow, and
// each test has its own database, state folder and ports. Tests inside a fixture stay in order.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
