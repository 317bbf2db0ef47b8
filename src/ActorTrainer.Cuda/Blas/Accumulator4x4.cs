using ILGPU;

namespace ActorTrainer.Cuda.Blas;

/// <summary>One thread's 4×4 block of SGEMM outputs in registers: c[r, s] is row (i + r·side), column (j + s·side)
/// of C. Each element is one float summed in the order <see cref="Step"/> is called (increasing k).</summary>
internal struct Accumulator4x4
{
    private float _c00, _c01, _c02, _c03, _c10, _c11, _c12, _c13, _c20, _c21, _c22, _c23, _c30, _c31, _c32, _c33;

    /// <summary>c[r, s] += sa[ia + r·side] · sb[ib + s·side] (one step of k from the shared tiles).</summary>
    public void Step(ArrayView<float> sa, ArrayView<float> sb, int ia, int ib, int side)
    {
        float a0 = sa[ia], a1 = sa[ia + side], a2 = sa[ia + 2 * side], a3 = sa[ia + 3 * side];
        float b0 = sb[ib], b1 = sb[ib + side], b2 = sb[ib + 2 * side], b3 = sb[ib + 3 * side];
        _c00 += a0 * b0; _c01 += a0 * b1; _c02 += a0 * b2; _c03 += a0 * b3;
        _c10 += a1 * b0; _c11 += a1 * b1; _c12 += a1 * b2; _c13 += a1 * b3;
        _c20 += a2 * b0; _c21 += a2 * b1; _c22 += a2 * b2; _c23 += a2 * b3;
        _c30 += a3 * b0; _c31 += a3 * b1; _c32 += a3 * b2; _c33 += a3 * b3;
    }

    /// <summary>C(i + r·side, j + s·side) = α·c[r, s] + β·C(…) for the outputs inside m×n (C not read when β = 0).</summary>
    public readonly void Store(ArrayView<float> c, SgemmParams p, int i, int j, int side)
    {
        int i1 = i + side, i2 = i + 2 * side, i3 = i + 3 * side;
        int j1 = j + side, j2 = j + 2 * side, j3 = j + 3 * side;
        Put(c, p, i, j, _c00); Put(c, p, i, j1, _c01); Put(c, p, i, j2, _c02); Put(c, p, i, j3, _c03);
        Put(c, p, i1, j, _c10); Put(c, p, i1, j1, _c11); Put(c, p, i1, j2, _c12); Put(c, p, i1, j3, _c13);
        Put(c, p, i2, j, _c20); Put(c, p, i2, j1, _c21); Put(c, p, i2, j2, _c22); Put(c, p, i2, j3, _c23);
        Put(c, p, i3, j, _c30); Put(c, p, i3, j1, _c31); Put(c, p, i3, j2, _c32); Put(c, p, i3, j3, _c33);
    }

    private static void Put(ArrayView<float> c, SgemmParams p, int i, int j, float sum)
    {
        if (i >= p.M || j >= p.N) return;
        long at = (long)j * p.Ldc + i;
        c[at] = p.Beta == 0f ? p.Alpha * sum : p.Alpha * sum + p.Beta * c[at];
    }
}
