using ActorTrainer.Core;

namespace ActorTrainer.Cuda;

/// <summary>PLACEHOLDER (being written).</summary>
internal sealed class CudaStepExecutor
{
    public static IStepExecutor Create(DeviceContext device, StepJob job, FitCheckpoint start) => throw new NotImplementedException();
}

/// <summary>PLACEHOLDER (being written).</summary>
internal static class CudaInference
{
    public static float[] Predict(DeviceContext device, ModelPlan plan, float[][] weights, float[] x, int rows, int batchSize) => throw new NotImplementedException();
    public static ShardStats Evaluate(DeviceContext device, ModelPlan plan, float[][] weights, ArrayData data, int batchSize) => throw new NotImplementedException();
}
