using ILGPU;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>Inverted dropout's keyed mask on the device, drawing exactly the CPU's mask (Core DropoutKernels.mask):
/// the element e of shard s of plan layer `layer` is dropped when u(e) &lt; rate, u(e) = (mix64(key + e) ≫ 11)·2⁻⁵³,
/// key = mix64(seed_s ⊕ layer≪56), with seed_s = Batching.dropoutSeed(seed, step, s) computed on the host. So a GPU
/// step drops the same units as the CPU engine for the same seed, step and shards-per-batch.</summary>
internal static class DropoutKernel
{
    /// <summary>SplitMix64's output function (Core Rng.Mix64): finalise(z + 0x9E3779B97F4A7C15).</summary>
    public static ulong Mix64(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>mask[r, j] for a batch of `rows` rows split into `shards` contiguous shards (Batching.shardRange):
    /// 0 when dropped, else `scale` = 1/(1 − rate); shardSeeds[s] is shard s's dropout seed.</summary>
    public static void Mask(Index1D i, ArrayView<long> shardSeeds, int rows, int shards, int width, int layer,
                            double rate, float scale, ArrayView<float> mask)
    {
        int r = i / width;
        int j = i - r * width;
        int s = 0;
        long first = 0;
        for (int k = 1; k < shards; k++)
        {
            long a = (long)k * rows / shards;
            if (a <= r) { s = k; first = a; }
        }
        ulong key = Mix64((ulong)shardSeeds[s] ^ ((ulong)layer << 56));
        ulong e = (ulong)((r - first) * width + j);
        double u = (Mix64(key + e) >> 11) * (1.0 / 9007199254740992.0);
        mask[i] = u < rate ? 0f : scale;
    }
}
