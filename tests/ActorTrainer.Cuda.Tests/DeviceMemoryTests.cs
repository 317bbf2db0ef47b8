using System.Diagnostics;

namespace ActorTrainer.Cuda.Tests;

/// <summary>DeviceMemory: a device allocation that cannot be satisfied names the buffer, the size asked for and the
/// fallback; host↔device copies stay correct while the GC moves the host arrays.</summary>
[Collection("cpu-device")]
public sealed class DeviceMemoryTests(CpuDevice cpu)
{
    [Fact]
    public void Out_of_memory_names_what_was_asked_for()
    {
        var e = Assert.Throws<CudaOutOfMemoryException>(() => DeviceMemory.Allocate<float>(cpu.Device.Accelerator, 1L << 42, "the training set (test)"));
        Assert.Contains("the training set (test) needs 16384.0 GiB", e.Message);
        Assert.Contains("--set trainer.backend=cpu", e.Message);
    }

    /// <summary>ILGPU's ref-based copies do not pin the host array; with another thread forcing compacting GCs, copies
    /// into and out of fresh (gen-0, movable) arrays through ILGPU's ref overloads returned wrong values or crashed the
    /// process within seconds (the GPU backend's fit then reported wrong losses now and then on a loaded machine).
    /// Upload / Download pin the span, so every copy must come back exact.</summary>
    [Fact]
    public void Copies_are_exact_while_a_gc_moves_the_host_arrays()
    {
        const int n = 4096;
        cpu.Device.Enter();
        using var buffer = DeviceMemory.Allocate<int>(cpu.Device.Accelerator, n, "the copy test's buffer");
        var stop = 0;
        var storm = new Thread(() => { while (Volatile.Read(ref stop) == 0) GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true); });
        storm.Start();
        try
        {
            var clock = Stopwatch.StartNew();
            for (int round = 0; clock.Elapsed.TotalSeconds < 2 || round < 50; round++)
            {
                var garbage = new byte[512 + round % 509];            // so each fresh array lands somewhere new
                var src = new int[n];
                for (int i = 0; i < n; i++) src[i] = round * n + i;
                DeviceMemory.Upload(buffer.View, src);
                var dst = new int[n];
                DeviceMemory.Download(buffer.View, dst.AsSpan());
                for (int i = 0; i < n; i++)
                    if (dst[i] != src[i]) Assert.Fail($"round {round}: element {i} came back as {dst[i]}, expected {src[i]}");
                GC.KeepAlive(garbage);
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            storm.Join();
        }
    }
}
