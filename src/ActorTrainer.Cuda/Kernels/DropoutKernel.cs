using ActorTrainer.Core;
using ILGPU;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>Inverted dropout's keyed mask on the device, drawing exactly the CPU's mask (Core DropoutKernels.mask):
/// the element e of shard s of plan layer `layer` is dropped when u(e) &lt; rate, u(e) = (mix64(key + e) ≫ 11)·2⁻⁵³,
/// key = mix64(seed_s ⊕ layer≪56) — Core's one RNG (Rng.Unit, DropoutKernels.key) compiled into the kernel — with seed_s = Batching.dropoutSeed(seed, step, s) computed on the host. So a GPU
/// step drops the same units as the CPU engine for the same seed, step and shards-per-batch.</summary>
internal static class DropoutKernel
{
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
        ulong e = (ulong)((r - first) * width + j);
        mask[i] = Rng.Unit(DropoutKernels.key(shardSeeds[s], layer), e) < rate ? 0f : scale;
    }
}
