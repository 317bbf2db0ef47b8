using ActorTrainer.Core;

namespace ActorTrainer.Bench;

/// <summary>A batch hook that may touch the model (as far as the fit loop knows): the loop waits for each step, so no
/// executor opens the next step ahead (IStepLookahead) — the baseline the benchmarks compare the lookahead with.</summary>
internal sealed class WaitForEachStep : Callback
{
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }
}
