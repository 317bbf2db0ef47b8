using System.Numerics;
using System.Runtime.Intrinsics;

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

    /// <summary>Rows, and RowStart (m + 1 entries), Entries (RowStart[m] entries).</summary>
    public int Rows;
    public int[] RowStart = new int[1];
    public Entry[] Entries = [];

    /// <summary>Scans op(A) and, when it has at most maxDensity·m·k nonzeros, returns its rows (a per-thread
    /// instance, valid until this thread's next call); null otherwise. A dense operand costs a scan of about one
    /// row in eight (a sample) or, when the sample is sparse, one counting pass.</summary>
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
        var start = sr.RowStart;
        Array.Clear(start, 0, m + 1);
        for (int s = 0; s < outer; s++)
        {
            if (transA) CountColumns(a + s * lda, inner, start);
            else start[s + 1] = CountNonzero(a + s * lda, inner);
        }
        for (int r = 0; r < m; r++) start[r + 1] += start[r];
        long total = start[m];
        if (total > budget) return null;
        if (sr.Entries.Length < total) sr.Entries = new Entry[total];
        sr.Rows = m;
        if (transA) sr.FillTransposed(a, lda, k, m, scale);
        else sr.FillRows(a, lda, m, k, scale);
        return sr;
    }

    private void FillRows(float* a, nint lda, int m, int k, int scale)
    {
        fixed (Entry* en = Entries)
            for (int r = 0; r < m; r++)
            {
                float* row = a + r * lda;
                int e = RowStart[r];
                int j = 0;
                for (; j + 8 <= k; j += 8)
                {
                    uint bits = NonzeroBits(row + j);
                    while (bits != 0)
                    {
                        int t = BitOperations.TrailingZeroCount(bits);
                        en[e].Offset = (j + t) * scale; en[e].Value = row[j + t]; e++;
                        bits &= bits - 1;
                    }
                }
                for (; j < k; j++)
                    if (row[j] != 0f) { en[e].Offset = j * scale; en[e].Value = row[j]; e++; }
            }
    }

    /// <summary>op(A) = Aᵀ, A stored k×m: row r of op(A) is column r of A; scanning A's rows in order fills every
    /// row's entries in increasing column (p) order.</summary>
    private void FillTransposed(float* a, nint lda, int k, int m, int scale)
    {
        var next = NextBuffer(m);
        Array.Copy(RowStart, next, m);
        fixed (Entry* en = Entries) fixed (int* nx = next)
            for (int p = 0; p < k; p++)
            {
                float* row = a + p * lda;
                int r = 0;
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
    }

    [ThreadStatic] private static int[]? t_next;
    private static int[] NextBuffer(int m) => t_next is { } b && b.Length >= m ? b : t_next = new int[m];

    /// <summary>Bit t set when x[t] ≠ ±0 (t &lt; 8).</summary>
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
