namespace ActorTrainer.Runtime;

/// <summary>Fault injection for tests: the work item handed out with 0-based dispatch index ThrowOnShard makes its
/// worker throw, on its first ThrowTimes dispatches (default once; a run fails once an item failed 4 times); the
/// dispatch with index SleepOnShard makes its worker sleep SleepFor (default 2 s) once before answering.
/// -1 disables a fault. FailWorkerStart makes every gradient worker's constructor throw (a worker that cannot start
/// stops the run instead of being restarted forever).</summary>
/// <param name="ThrowOnShard">0-based dispatch index of the work item whose worker throws (−1 = never).</param>
/// <param name="SleepOnShard">0-based dispatch index of the work item whose worker sleeps SleepFor once (−1 = never).</param>
/// <param name="SleepFor">The sleep of the SleepOnShard fault (null = 2 s).</param>
/// <param name="ThrowTimes">Dispatches of the ThrowOnShard item that throw (default 1, ≥ 1).</param>
/// <param name="FailWorkerStart">Every gradient worker's constructor throws.</param>
public sealed record FaultInjection(int ThrowOnShard = -1, int SleepOnShard = -1, TimeSpan? SleepFor = null, int ThrowTimes = 1,
    bool FailWorkerStart = false)
{
    /// <summary>The sleep of the SleepOnShard fault (default 2 s).</summary>
    public TimeSpan EffectiveSleep => SleepFor ?? TimeSpan.FromSeconds(2);
}
