namespace Pipelines.Cli.Hosting;

/// <summary>An environment setting has a value the CLI cannot use; the message names the variable and the value.</summary>
public sealed class SettingException(string message) : Exception(message);
