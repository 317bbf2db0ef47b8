using ActorTrainer.Core;

namespace ActorTrainer.Cuda.Tests;

/// <summary>One ILGPU CPU accelerator for all tests (opening a context and compiling kernels is slow): the GPU
/// backend's kernels run on it exactly as written for the GPU, only slower.</summary>
public sealed class CpuDevice : IDisposable
{
    public CudaRuntime Runtime { get; } = new(new CudaOptions(DeviceKind.Cpu));
    internal DeviceContext Device => Runtime.Device;
    public void Dispose() => Runtime.Dispose();
}

[CollectionDefinition("cpu-device")]
public sealed class CpuDeviceCollection : ICollectionFixture<CpuDevice>;

/// <summary>Small deterministic datasets and comparisons for the GPU backend's tests.</summary>
internal static class Data
{
    /// <summary>n samples of `features` Gaussian-ish values around one of `classes` centres, labelled by the centre.</summary>
    public static ArrayData Clusters(int n, int features, int classes, int seed)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, classes).Select(_ => Enumerable.Range(0, features).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var x = new float[n * features];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = rng.Next(classes);
            for (int j = 0; j < features; j++) x[i * features + j] = centres[y[i]][j] + (float)(rng.NextDouble() - 0.5) * 0.8f;
        }
        return ArrayData.OfLabels(x, features, y);
    }

    /// <summary>Float targets for a non-sparse loss: one-hot of the labels (or the labels' parity for width 1).</summary>
    public static ArrayData WithTargets(ArrayData d, int width)
    {
        var t = new float[d.Count * width];
        for (int i = 0; i < d.Count; i++)
            if (width == 1) t[i] = d.Labels[i] % 2;
            else t[i * width + d.Labels[i] % width] = 1f;
        return new ArrayData(d.X, d.Features, null, t, d.Count);
    }

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Asserts |a − b| ≤ rtol·max|b| + atol element-wise, naming the first index that is not.</summary>
    public static void Close(float[] expected, float[] actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Length == 0 ? 0 : expected.Max(v => Math.Abs(v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= rtol * scale + atol,
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (scale {scale:G4})");
    }

    public static void BitIdentical(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
    }
}
