global using NUnit.Framework;
global using Microsoft.Playwright;
global using Pipelines.Testing;
