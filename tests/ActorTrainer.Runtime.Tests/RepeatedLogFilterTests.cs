using ActorTrainer.Runtime.Remoting;
using Akka.Event;

namespace ActorTrainer.Runtime.Tests;

public class RepeatedLogFilterTests
{
    private DateTime _now = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);

    private RepeatedLogFilter Filter() => new(TimeSpan.FromSeconds(30), () => _now);

    private static Warning Warn(string source, string text) => new(source, typeof(RepeatedLogFilterTests), text);

    private static bool Kept(RepeatedLogFilter f, LogEvent e) => f.ShouldKeepMessage(e, e.ToString()) == LogFilterDecision.Keep;

    [Fact]
    public void A_repeated_message_is_shown_once_per_interval_with_bracketed_counters_counting_as_the_same_text()
    {
        var f = Filter();
        const string join = "Couldn't join seed nodes after [{0}] attempts, will try again. seed-nodes=[akka.tcp://actor-trainer@127.0.0.1:4053]";
        Assert.True(Kept(f, Warn("joinSeedNodeProcess-1", string.Format(join, 2))));
        for (int i = 3; i < 30; i++)
        {
            _now += TimeSpan.FromSeconds(1);
            Assert.False(Kept(f, Warn("joinSeedNodeProcess-1", string.Format(join, i))), $"attempt {i}, {i - 2} s after the first was shown");
        }
        _now += TimeSpan.FromSeconds(3);   // 30 s after the one shown
        Assert.True(Kept(f, Warn("joinSeedNodeProcess-1", string.Format(join, 30))));
        _now += TimeSpan.FromSeconds(1);
        Assert.False(Kept(f, Warn("joinSeedNodeProcess-1", string.Format(join, 31))));
    }

    [Fact]
    public void Messages_that_differ_in_address_source_level_or_exception_are_each_shown()
    {
        var f = Filter();
        const string gated = "Tried to associate with unreachable remote address [akka.tcp://actor-trainer@{0}:4053]. Address is now gated for 1000 ms";
        Assert.True(Kept(f, Warn("remoting", string.Format(gated, "10.0.0.1"))));
        Assert.True(Kept(f, Warn("remoting", string.Format(gated, "10.0.0.2"))));          // another node
        Assert.True(Kept(f, Warn("remoting (other system)", string.Format(gated, "10.0.0.1"))));
        Assert.True(Kept(f, new Info("remoting", typeof(RepeatedLogFilterTests), string.Format(gated, "10.0.0.1"))));
        Assert.True(Kept(f, new Error(new IOException("reset"), "remoting", typeof(RepeatedLogFilterTests), "association failed")));
        Assert.True(Kept(f, new Error(new TimeoutException("late"), "remoting", typeof(RepeatedLogFilterTests), "association failed")));
        Assert.False(Kept(f, new Error(new IOException("refused"), "remoting", typeof(RepeatedLogFilterTests), "association failed")));
        Assert.False(Kept(f, Warn("remoting", string.Format(gated, "10.0.0.2"))));
        Assert.True(Kept(f, Warn("remoting", "Address is now gated for [1000] ms, the ports differ: 4053")));
        Assert.True(Kept(f, Warn("remoting", "Address is now gated for [1000] ms, the ports differ: 4054")));   // bare numbers are text
    }

    [Fact]
    public void Every_logger_asking_about_a_shown_event_is_told_to_keep_it()
    {
        var f = Filter();
        var e = Warn("remoting", "gated");
        Assert.True(Kept(f, e));
        Assert.True(Kept(f, e));                       // a second logger (akka.loggers may list several)
        Assert.False(Kept(f, Warn("remoting", "gated")));
        var dropped = Warn("remoting", "gated");
        Assert.False(Kept(f, dropped));
        Assert.False(Kept(f, dropped));
    }

    [Fact]
    public void Memory_is_bounded_and_a_bad_interval_is_refused()
    {
        var f = Filter();
        for (int i = 0; i < RepeatedLogFilter.MaxRemembered * 2 + 10; i++)
        {
            Assert.True(Kept(f, Warn("source", $"message {i}")));
            Assert.InRange(f.Remembered, 1, RepeatedLogFilter.MaxRemembered);
            if (i % 1000 == 0) _now += TimeSpan.FromSeconds(31);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatedLogFilter(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatedLogFilter(TimeSpan.FromSeconds(-1)));
    }
}
