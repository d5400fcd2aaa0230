using Pipelines.Core.Scheduling;

namespace Pipelines.Core.Tests.Scheduling;

public class CronExpressionParseTests
{
    [TestCase("61 * * * *", "cron '61 * * * *': minute field: value 61 out of range 0-59")]
    [TestCase("0 24 * * *", "cron '0 24 * * *': hour field: value 24 out of range 0-23")]
    [TestCase("0 0 0 * *", "cron '0 0 0 * *': day-of-month field: value 0 out of range 1-31")]
    [TestCase("0 0 32 * *", "cron '0 0 32 * *': day-of-month field: value 32 out of range 1-31")]
    [TestCase("0 0 * 13 *", "cron '0 0 * 13 *': month field: value 13 out of range 1-12")]
    [TestCase("0 0 * * 8", "cron '0 0 * * 8': day-of-week field: value 8 out of range 0-7")]
    [TestCase("x * * * *", "cron 'x * * * *': minute field: invalid value 'x'")]
    [TestCase("0 0 * FOO *", "cron '0 0 * FOO *': month field: invalid value 'FOO'")]
    [TestCase("0 0 * * MON-FOO", "cron '0 0 * * MON-FOO': day-of-week field: invalid value 'FOO'")]
    [TestCase("0 0 * MON *", "cron '0 0 * MON *': month field: invalid value 'MON'")]
    [TestCase("0 0 * * JAN", "cron '0 0 * * JAN': day-of-week field: invalid value 'JAN'")]
    [TestCase("JAN * * * *", "cron 'JAN * * * *': minute field: invalid value 'JAN'")]
    [TestCase("-1 * * * *", "cron '-1 * * * *': minute field: invalid value ''")]
    [TestCase("5-1 * * * *", "cron '5-1 * * * *': minute field: range '5-1' starts after it ends")]
    [TestCase("*/0 * * * *", "cron '*/0 * * * *': minute field: step 0 out of range 1-60")]
    [TestCase("0 */25 * * *", "cron '0 */25 * * *': hour field: step 25 out of range 1-24")]
    [TestCase("*/x * * * *", "cron '*/x * * * *': minute field: invalid step 'x' in '*/x'")]
    [TestCase("1,,2 * * * *", "cron '1,,2 * * * *': minute field: empty list item in '1,,2'")]
    [TestCase("1.5 * * * *", "cron '1.5 * * * *': minute field: invalid value '1.5'")]
    [TestCase("@reboot", "cron '@reboot': unknown macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)")]
    public void Parse_ThrowsNamingFieldAndToken_WhenTokenIsBad(string text, string message)
    {
        var error = Assert.Throws<FormatException>(() => CronExpression.Parse(text));
        Assert.That(error!.Message, Is.EqualTo(message));
    }

    [TestCase("* * * *", 4)]
    [TestCase("* * * * * *", 6)]
    [TestCase("", 0)]
    [TestCase("   ", 0)]
    public void Parse_ThrowsWithFieldCount_WhenWrongNumberOfFields(string text, int found)
    {
        var error = Assert.Throws<FormatException>(() => CronExpression.Parse(text));
        Assert.That(error!.Message,
            Is.EqualTo($"cron '{text}': expected 5 fields (minute hour day-of-month month day-of-week) but found {found}"));
    }

    [Test]
    public void Parse_KeepsOriginalText()
    {
        var cron = CronExpression.Parse(" @Daily ");
        Assert.That(cron.Text, Is.EqualTo(" @Daily "));
        Assert.That(cron.ToString(), Is.EqualTo(" @Daily "));
    }

    [TestCase("* * * * *", true)]
    [TestCase("*/1 * * * *", true)]
    [TestCase("0 0-23 * * *", true)]
    [TestCase("@hourly", true)]
    [TestCase("0 */2 * * *", false)]
    [TestCase("30 2 * * *", false)]
    [TestCase("@daily", false)]
    public void EveryHour_IsTrue_OnlyWhenHourFieldCoversAllHours(string text, bool everyHour) =>
        Assert.That(CronExpression.Parse(text).EveryHour, Is.EqualTo(everyHour));
}
