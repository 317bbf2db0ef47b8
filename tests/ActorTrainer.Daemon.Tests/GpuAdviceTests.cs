using ActorTrainer.Cuda;
using ActorTrainer.Daemon.Commands;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The GPU errors of evaluate and predict advise their own command (GpuBackend.Advice / Run): the Cuda library
/// words its fallback for train ("train on the CPU", "a smaller trainer.batch-size"), which neither command runs nor
/// reads. Out of device memory cannot be produced without a GPU, so its wording is checked here.</summary>
public sealed class GpuAdviceTests
{
    private const string NoDevice = "trainer.backend = cuda: no CUDA device found (no NVIDIA driver, libcuda.so.1, or no GPU visible to this process); ";
    private const string OutOfMemory = "out of device memory: the weights need 3.0 GiB (805306368 × 4 B) on NVIDIA H100, which has 80.0 GiB in all; ";

    [Fact]
    public void Out_of_device_memory_in_evaluate_and_predict_names_what_each_can_make_smaller_and_its_own_fallback()
    {
        Assert.Equal(OutOfMemory + "use a smaller --batch-size or model, or evaluate on the CPU with --set trainer.backend=cpu",
                     GpuBackend.Advice("evaluate", OutOfMemory + CudaOutOfMemoryException.Advice));
        Assert.Equal(OutOfMemory + "use a smaller model, or predict on the CPU with --set trainer.backend=cpu",
                     GpuBackend.Advice("predict", OutOfMemory + CudaOutOfMemoryException.Advice));
        Assert.Equal(OutOfMemory + CudaOutOfMemoryException.Advice, GpuBackend.Advice("train", OutOfMemory + CudaOutOfMemoryException.Advice));
    }

    [Theory]
    [InlineData("train", "train on the CPU instead with --set trainer.backend=cpu")]
    [InlineData("evaluate", "evaluate on the CPU instead with --set trainer.backend=cpu")]
    [InlineData("predict", "predict on the CPU instead with --set trainer.backend=cpu")]
    [InlineData("worker", "start the node on the CPU instead with --set worker.backend=cpu")]
    public void No_usable_gpu_advises_the_command_that_ran(string command, string fallback) =>
        Assert.Equal(NoDevice + fallback, GpuBackend.Advice(command, NoDevice + CudaUnavailableException.Fallback));

    [Fact]
    public void A_gpu_error_thrown_inside_evaluate_or_predict_comes_out_in_their_words_and_of_the_same_type()
    {
        var oom = Assert.Throws<CudaOutOfMemoryException>(() =>
            GpuBackend.Run("predict", () => throw new CudaOutOfMemoryException(OutOfMemory + CudaOutOfMemoryException.Advice)));
        Assert.EndsWith("use a smaller model, or predict on the CPU with --set trainer.backend=cpu", oom.Message);
        var none = Assert.Throws<CudaUnavailableException>(() =>
            GpuBackend.Run("evaluate", () => throw new CudaUnavailableException(NoDevice + CudaUnavailableException.Fallback)));
        Assert.Equal(NoDevice + "evaluate on the CPU instead with --set trainer.backend=cpu", none.Message);
        Assert.Equal((ActorTrainer.Daemon.Cli.ExitCodes.BadInput, none.Message), ActorTrainer.Daemon.Cli.ErrorBoundary.Classify(none));
    }
}
