using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ActorTrainer.Kernels;

/// <summary>
/// The nonzeros of op(A) (m×k, A row-major, op = identity or transpose) in compressed rows: for row r, entries
/// RowStart[r] ≤ e &lt; RowStart[r+1] hold Entries[e] = (column × scale, value) in increasing column order (the
/// scale turns a column into the caller's offset into a packed panel). Built per GEMM call into
/// per-thread buffers (no allocation in steady state); <see cref="TryBuild"/> gives up early on a dense operand.
/// </summary>
internal sealed unsafe class SparseRows
{
    [ThreadStatic] private static SparseRows? t_instance;

    /// <summary>One nonzero: its column times the scale, and its value.</summary>
    internal struct Entry
    {
        public int Offset;
        public float Value;
    }

    /// <summary>RowStart (m + 1 entries) and Entries (RowStart[m] entries).</summary>
    public int[] RowStart = new int[1];
    public Entry[] Entries = [];

    /// <summary>Bit (p &amp; 7) of UsedColumns[p >> 3] is set when some row of op(A) has an entry in column p; null when
    /// every column may have one (a transposed operand of more than 256 rows). The sparse GEMM packs only those rows of
    /// B: no entry reads the others (a 64-image shard of MNIST leaves ~37 % of the pixels unused).</summary>
    public byte[]? UsedColumns;
    private byte[] _used = [];

    /// <summary>When set on a thread, its transposed operands are built by <see cref="FillTransposed"/> whatever k is
    /// (tests compare the two builds).</summary>
    [ThreadStatic] internal static bool ScatterOnly;

    /// <summary>Scans op(A) and, when it has at most maxDensity·m·k nonzeros, returns its rows (a per-thread
    /// instance, valid until this thread's next call); null otherwise. A dense operand costs a scan of about one
    /// row in eight (a sample), or the part of one pass that reaches the budget.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static SparseRows? TryBuild(float* a, nint lda, bool transA, int m, int k, double maxDensity, int scale)
    {
        // stored A is `outer` rows × `inner` columns: m × k, or k × m when transposed
        int outer = transA ? k : m, inner = transA ? m : k;
        long budget = (long)(maxDensity * m * k);
        long sample = 0, sampled = 0;
        for (int s = 0; s < outer; s += 8) { sample += CountNonzero(a + s * lda, inner); sampled += inner; }
        if (sample > maxDensity * 1.25 * sampled) return null;
        var sr = t_instance ??= new SparseRows();
        if (sr.RowStart.Length < m + 1) sr.RowStart = new int[m + 1];
        if (sr.Entries.Length < budget + 8) sr.Entries = new Entry[budget + 8];   // + 8: whole groups of 8 are stored
        bool filled = !transA ? sr.FillRows(a, lda, m, k, scale, budget)
            : k <= MaskMaxK && !ScatterOnly ? sr.FillTransposedMasks(a, lda, k, m, scale, budget)
            : sr.FillTransposed(a, lda, k, m, scale, budget);
        return filled ? sr : null;
    }

    /// <summary>One pass over row-major A: each row's entries follow the previous row's; false (stopped early) when
    /// the nonzeros exceed the budget.</summary>
    private bool FillRows(float* a, nint lda, int m, int k, int scale, long budget)
    {
        int e = 0;
        if (_used.Length < (k + 7) / 8) _used = new byte[(k + 7) / 8];
        Array.Clear(_used, 0, (k + 7) / 8);
        UsedColumns = _used;
        fixed (Entry* en = Entries) fixed (byte* used = _used)
            for (int r = 0; r < m; r++)
            {
                RowStart[r] = e;
                if (e > budget - k) { e += CountNonzero(a + r * lda, k); if (e > budget) return false; e = RowStart[r]; }
                float* row = a + r * lda;
                int j = 0;
                if (Avx512F.IsSupported)
                    for (; j + 16 <= k; j += 16)
                    {
                        e += Compress16(row + j, j, scale, en + e, out uint mask);
                        used[j >> 3] |= (byte)mask;
                        used[(j >> 3) + 1] |= (byte)(mask >> 8);
                    }
                if (Avx2.IsSupported)
                    for (; j + 8 <= k; j += 8)
                    {
                        e += Compress8(row + j, j, scale, en + e, out uint mask);
                        used[j >> 3] |= (byte)mask;
                    }
                for (; j + 8 <= k; j += 8)
                {
                    uint bits = NonzeroBits(row + j);
                    used[j >> 3] |= (byte)bits;
                    while (bits != 0)
                    {
                        int t = BitOperations.TrailingZeroCount(bits);
                        en[e].Offset = (j + t) * scale; en[e].Value = row[j + t]; e++;
                        bits &= bits - 1;
                    }
                }
                for (; j < k; j++)
                    if (row[j] != 0f) { en[e].Offset = j * scale; en[e].Value = row[j]; e++; used[j >> 3] |= (byte)(1 << (j & 7)); }
            }
        RowStart[m] = e;
        return true;
    }

    /// <summary>op(A) = Aᵀ, A stored k×m: row r of op(A) is column r of A; scanning A's rows in order fills every
    /// row's entries in increasing column (p) order.</summary>
    private bool FillTransposed(float* a, nint lda, int k, int m, int scale, long budget)
    {
        UsedColumns = null;
        var start = RowStart;
        Array.Clear(start, 0, m + 1);
        for (int p = 0; p < k; p++) CountColumns(a + p * lda, m, start);
        for (int r = 0; r < m; r++) start[r + 1] += start[r];
        if (start[m] > budget) return false;
        var next = NextBuffer(m);
        Array.Copy(RowStart, next, m);
        fixed (Entry* en = Entries) fixed (int* nx = next)
            for (int p = 0; p < k; p++)
            {
                float* row = a + p * lda;
                int r = 0;
                if (Avx2.IsSupported)
                    fixed (Entry* tmp = RowBuffer(m + 8))
                    {
                        // the row's nonzeros as (r, value), then each appended to op(A)'s row r
                        int count = 0;
                        for (; r + 8 <= m; r += 8) count += Compress8(row + r, r, 1, tmp + count, out _);
                        for (int t = 0; t < count; t++)
                        {
                            int e = nx[tmp[t].Offset]++;
                            en[e].Offset = p * scale; en[e].Value = tmp[t].Value;
                        }
                    }
                for (; r + 8 <= m; r += 8)
                {
                    uint bits = NonzeroBits(row + r);
                    while (bits != 0)
                    {
                        int t = BitOperations.TrailingZeroCount(bits);
                        int e = nx[r + t]++; en[e].Offset = p * scale; en[e].Value = row[r + t];
                        bits &= bits - 1;
                    }
                }
                for (; r < m; r++)
                    if (row[r] != 0f) { int e = nx[r]++; en[e].Offset = p * scale; en[e].Value = row[r]; }
            }
        return true;
    }

    /// <summary>Largest k (rows of the stored A) for which a transposed operand is built from per-row bit masks
    /// (<see cref="FillTransposedMasks"/>): four 64-bit words per row of op(A).</summary>
    internal const int MaskMaxK = 256;

    /// <summary>op(A) = Aᵀ with A stored k×m, k ≤ <see cref="MaskMaxK"/> (xᵀ of a shard or batch of up to 256 rows):
    /// first, per row r of op(A), ⌈k/64⌉ 64-bit masks of the p with A[p, r] ≠ ±0 (eight columns of A at a time,
    /// branch-free), then each row's entries straight from its masks in increasing p — the same entries as
    /// <see cref="FillTransposed"/>, without its counting pass and scatter (bench/RESULTS.md: 0.031–0.035 ms instead
    /// of 0.047–0.069 on a 64-image MNIST shard; 0.05–0.09 instead of 0.09–0.16 on a 128-image one, twenty-first
    /// session). Also sets UsedColumns (the p with entries).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool FillTransposedMasks(float* a, nint lda, int k, int m, int scale, long budget)
    {
        int words = (k + 63) >> 6;
        var masks = MaskBuffer(m * words);
        var start = RowStart;
        fixed (ulong* mk = masks)
        {
            // mk[w·m + r]: bit p − 64w set for A[p, r] ≠ ±0
            for (int w = 0; w < words; w++) ColumnMasks(a + (nint)(64 * w) * lda, lda, Math.Min(64, k - 64 * w), m, mk + (nint)w * m);
            long total = 0;
            for (int r = 0; r < m; r++)
            {
                start[r] = (int)total;   // ≤ m·k ≤ MaxElements
                for (int w = 0; w < words; w++) total += BitOperations.PopCount(mk[w * m + r]);
            }
            if (total > budget) return false;
            start[m] = (int)total;
            SetUsedFromMasks(mk, words, m);
            fixed (Entry* en = Entries)
            {
                int e = 0;
                for (int r = 0; r < m; r++)
                    for (int w = 0; w < words; w++)
                        for (ulong bits = mk[w * m + r]; bits != 0; bits &= bits - 1)
                        {
                            int p = 64 * w + BitOperations.TrailingZeroCount(bits);
                            en[e].Offset = p * scale; en[e].Value = a[p * lda + r]; e++;
                        }
            }
        }
        return true;
    }

    /// <summary>UsedColumns from the masks (words per row of op(A)): bit p set when some row has an entry in column p.</summary>
    private void SetUsedFromMasks(ulong* mk, int words, int m)
    {
        if (_used.Length < 8 * words) _used = new byte[8 * words];
        for (int w = 0; w < words; w++)
        {
            ulong any = 0;
            for (int r = 0; r < m; r++) any |= mk[w * m + r];
            for (int i = 0; i < 8; i++) _used[8 * w + i] = (byte)(any >> (8 * i));
        }
        UsedColumns = _used;
    }

    /// <summary>mk[r] = Σ 2^p over p &lt; k (≤ 64) with A[p·lda + r] ≠ ±0 (NaN counts as nonzero), r &lt; m.</summary>
    private static void ColumnMasks(float* a, nint lda, int k, int m, ulong* mk)
    {
        int r = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; r + 8 <= m; r += 8)
            {
                Vector256<ulong> lo = Vector256<ulong>.Zero, hi = Vector256<ulong>.Zero;
                for (int p = 0; p < k; p++)
                {
                    var nonzero = ~Vector256.Equals(Vector256.Load(a + p * lda + r), Vector256<float>.Zero).AsInt32();
                    var (l, h) = Vector256.Widen(nonzero);
                    var bit = Vector256.Create(1UL << p);
                    lo |= l.AsUInt64() & bit;
                    hi |= h.AsUInt64() & bit;
                }
                Vector256.Store(lo, mk + r);
                Vector256.Store(hi, mk + r + 4);
            }
        for (; r < m; r++)
        {
            ulong bits = 0;
            for (int p = 0; p < k; p++) if (a[p * lda + r] != 0f) bits |= 1UL << p;
            mk[r] = bits;
        }
    }

    [ThreadStatic] private static ulong[]? t_masks;
    private static ulong[] MaskBuffer(int m) => t_masks is { } b && b.Length >= m ? b : t_masks = new ulong[m];

    [ThreadStatic] private static Entry[]? t_row;
    private static Entry[] RowBuffer(int n) => t_row is { } b && b.Length >= n ? b : t_row = new Entry[n];

    [ThreadStatic] private static int[]? t_next;
    private static int[] NextBuffer(int m) => t_next is { } b && b.Length >= m ? b : t_next = new int[m];

    /// <summary>s_compress[8·bits + i]: the position of the i-th set bit of `bits` (0 past the last); pinned.</summary>
    private static readonly int[] s_compressTable = BuildCompressTable();
    private static readonly int* s_compress = (int*)Unsafe.AsPointer(ref s_compressTable[0]);

    private static int[] BuildCompressTable()
    {
        var t = GC.AllocateArray<int>(256 * 8, pinned: true);
        for (int bits = 0; bits < 256; bits++)
            for (int b = 0, i = 0; b < 8; b++)
                if ((bits & (1 << b)) != 0) t[bits * 8 + i++] = b;
        return t;
    }

    /// <summary>Writes the nonzeros of x[0..8) as entries ((j0 + t)·scale, x[t]) in order at dst (always stores 8
    /// entries; the ones past the count are overwritten later or lie in the slack) and returns their count; mask: bit t
    /// set when x[t] ≠ ±0. AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Compress8(float* x, int j0, int scale, Entry* dst, out uint mask)
    {
        var v = Vector256.Load(x);
        uint bits = ~Vector256.Equals(v, Vector256<float>.Zero).ExtractMostSignificantBits() & 0xFFu;
        mask = bits;
        if (bits == 0) return 0;
        var perm = Vector256.Load(s_compress + bits * 8);
        var values = Avx2.PermuteVar8x32(v, perm);
        var offsets = (perm + Vector256.Create(j0)) * Vector256.Create(scale);
        var lo = Avx.UnpackLow(offsets.AsSingle(), values);    // o0 v0 o1 v1 | o4 v4 o5 v5
        var hi = Avx.UnpackHigh(offsets.AsSingle(), values);   // o2 v2 o3 v3 | o6 v6 o7 v7
        Avx.Store((float*)dst, Avx.Permute2x128(lo, hi, 0x20));
        Avx.Store((float*)dst + 8, Avx.Permute2x128(lo, hi, 0x31));
        return BitOperations.PopCount(bits);
    }

    /// <summary><see cref="Compress8"/> for x[0..16) with AVX-512: each half's nonzeros as 64-bit entries
    /// (column·scale | value bits &lt;&lt; 32) packed by VPCOMPRESSQ; always stores 8 entries per half with nonzeros
    /// (the ones past its count are overwritten by the next half or later entries, or lie in the slack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Compress16(float* x, int j0, int scale, Entry* dst, out uint mask)
    {
        var v = Vector512.Load(x);
        var nonzero = ~Vector512.Equals(v, Vector512<float>.Zero).AsInt32();
        uint bits = (uint)nonzero.ExtractMostSignificantBits() & 0xFFFFu;
        mask = bits;
        if (bits == 0) return 0;
        var offsets = (Vector512<int>.Indices + Vector512.Create(j0)) * Vector512.Create(scale);
        var values = v.AsInt32();
        int n = 0;
        if ((bits & 0xFFu) != 0)
        {
            var lanes = Vector512.WidenLower(offsets.AsUInt32()) | (Vector512.WidenLower(values.AsUInt32()) << 32);
            Avx512F.Compress(Vector512<ulong>.Zero, Vector512.WidenLower(nonzero).AsUInt64(), lanes).Store((ulong*)dst);
            n = BitOperations.PopCount(bits & 0xFFu);
        }
        if ((bits >> 8) != 0)
        {
            var lanes = Vector512.WidenUpper(offsets.AsUInt32()) | (Vector512.WidenUpper(values.AsUInt32()) << 32);
            Avx512F.Compress(Vector512<ulong>.Zero, Vector512.WidenUpper(nonzero).AsUInt64(), lanes).Store((ulong*)(dst + n));
            n += BitOperations.PopCount(bits >> 8);
        }
        return n;
    }

    /// <summary>Bit t set when x[t] ≠ ±0 (t &lt; 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NonzeroBits(float* x)
    {
        if (Vector256.IsHardwareAccelerated)
            return ~Vector256.Equals(Vector256.Load(x), Vector256<float>.Zero).ExtractMostSignificantBits() & 0xFFu;
        uint bits = 0;
        for (int t = 0; t < 8; t++) if (x[t] != 0f) bits |= 1u << t;
        return bits;
    }

    /// <summary>counts[1 + j] += 1 for every x[j] ≠ ±0, j &lt; n (the per-column counts of a transposed operand).</summary>
    private static void CountColumns(float* x, int n, int[] counts)
    {
        fixed (int* c = counts)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    var eq = Vector256.Equals(Vector256.Load(x + j), Vector256<float>.Zero).AsInt32();
                    Vector256.Store(Vector256.Load(c + 1 + j) + Vector256<int>.One + eq, c + 1 + j);
                }
            for (; j < n; j++) if (x[j] != 0f) c[1 + j]++;
        }
    }

    /// <summary>Number of nonzero (≠ ±0) values in x[0..n).</summary>
    private static int CountNonzero(float* x, int n)
    {
        int count = 0, j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var zero = Vector256<float>.Zero;
            for (; j + 8 <= n; j += 8)
                count += 8 - BitOperations.PopCount(Vector256.Equals(Vector256.Load(x + j), zero).ExtractMostSignificantBits());
        }
        for (; j < n; j++) if (x[j] != 0f) count++;
        return count;
    }
}
