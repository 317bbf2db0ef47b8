using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>Lossless block-sparse codes (<see cref="CodedTensor"/>, <see cref="BlockSparse"/>) for the segments of slices
/// First..Last on one ps link and direction (<see cref="SliceProtocol"/>, Attach B = 1): a pushed gradient as it is
/// (the zero rows MNIST's blank pixels leave cost a bit per 16 values), pulled weights as the XOR with the copy the
/// peer holds (the values the last update left alone cost a bit per 16). Each segment travels as two sections, its
/// block mask and its marked values. The sender's mirror of the peer's copy starts at zeros, as a fresh connection's
/// receiver does (<see cref="Clear"/>). One per connection and direction: the buffers are reused, not thread-safe.</summary>
public sealed class SliceRangeCodes
{
    private readonly WeightRange[] _ranges;
    private readonly CodedTensor[] _codes;
    private float[][]? _held;   // XOR sender: per segment, what the peer holds

    /// <summary>Codes for the segments of slices `first`..`last` of `layout`.</summary>
    public SliceRangeCodes(ParameterSlices layout, int first, int last)
    {
        _ranges = Enumerable.Range(first, last - first + 1).SelectMany(s => layout[s]).ToArray();
        _codes = _ranges.Select(g => new CodedTensor(g.Count)).ToArray();
    }

    /// <summary>Sections the segments take (mask and values each).</summary>
    public int Sections => 2 * _ranges.Length;

    /// <summary>Codes the segments of per-tensor arrays `a` and adds their sections.</summary>
    public void Add(List<Section> into, float[][] a)
    {
        for (int i = 0; i < _ranges.Length; i++)
        {
            var g = _ranges[i];
            _codes[i].Encode(a[g.Tensor].AsSpan(g.Offset, g.Count));
            into.Add(_codes[i].MaskSection);
            into.Add(_codes[i].PackedSection);
        }
    }

    /// <summary>Codes the segments of `a` as the XOR with the peer's copy (then taken to hold them) and adds their sections.</summary>
    public void AddXor(List<Section> into, float[][] a)
    {
        _held ??= _ranges.Select(g => new float[g.Count]).ToArray();
        for (int i = 0; i < _ranges.Length; i++)
        {
            var g = _ranges[i];
            _codes[i].EncodeXor(a[g.Tensor].AsSpan(g.Offset, g.Count), _held[i]);
            into.Add(_codes[i].MaskSection);
            into.Add(_codes[i].PackedSection);
        }
    }

    /// <summary>Checks that sections `at`.. of `h` are exactly these segments' codes; the problem (naming `what`), or null.</summary>
    public string? Check(FrameHeader h, int at, string what)
    {
        if (h.SectionCount != at + Sections) return $"{what}: {h.SectionCount} sections, expected {at + Sections} (block-sparse segments)";
        for (int i = 0; i < _ranges.Length; i++)
            if (CodedTensor.Check(h, at + 2 * i, _ranges[i].Count, $"{what} segment of tensor {_ranges[i].Tensor} at {_ranges[i].Offset}", true) is { } bad)
                return $"{what}: {bad}";
        return null;
    }

    /// <summary>Receives the segments' codes (checked with <see cref="Check"/>) into `into`: as they are, or with `xor`
    /// applied to what `into` holds; InvalidDataException when a mask does not match its values (the frame is then
    /// cut short: the connection must end).</summary>
    public void Receive(TensorConnection c, FrameHeader h, int at, float[][] into, bool xor, string what)
    {
        for (int i = 0; i < _ranges.Length; i++)
        {
            var g = _ranges[i];
            _codes[i].Receive(c, h, at + 2 * i, g.Count, what);
            var dst = into[g.Tensor].AsSpan(g.Offset, g.Count);
            if (xor) _codes[i].DecodeXorInto(dst); else _codes[i].DecodeInto(dst);
        }
    }

    /// <summary>Zeros the segments of `a` (a new connection: the sender's mirror of them starts at zeros).</summary>
    public void Clear(float[][] a)
    {
        foreach (var g in _ranges) a[g.Tensor].AsSpan(g.Offset, g.Count).Clear();
    }
}
