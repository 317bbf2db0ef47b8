using System.Text;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The frames a coordinator and a worker node exchange on one data-plane connection (one connection per
/// remote gradient worker; request → answer, in order):
/// <list type="bullet">
/// <item>Job (→ node): A = most rows per shard, B = GEMM threads, C = number of weight tensors, D = flags in bits 0–7
/// (bit 0: a sync run, bit 1: tensors travel block-sparse, bit 2: the weights are shared — sync only, bit 3: the
/// slices live on ps nodes — sync and shared only, <see cref="SliceProtocol"/>) | the share's token &lt;&lt; 8
/// (positive; 0 when not shared); sections: [plan text (<see cref="PlanCodec"/>)], and with bit 3 [the ps directory
/// (<see cref="SliceDirectory"/>)]. Answer: Ready (A =
/// the node's processor count, B = the key of the weights the share's copy holds, long.MinValue when none) or
/// Error.</item>
/// <item>Work (→ node): A = request number, B = weights key, C = rows | batchRows &lt;&lt; 32, D = dropout seed;
/// sections: [x (rows × input), labels (rows, Int32) or targets (rows × output, Float32), then the weight tensors when
/// the node does not hold this key's weights yet]. Block-sparse jobs send x as a <see cref="BlockSparse"/> code (two
/// sections: mask, Bytes; values, Float32) and each weight tensor as the code of its XOR with the copy the node's
/// session holds (zeros when it starts). In a shared job the copy is the share's (<see cref="NodeWeightsShare"/>): the
/// weights, sent on one of its connections, start with a base-key section (2 Int32, low then high: the key the XOR is
/// against, long.MinValue = zeros, checked against the copy), and Work without weights waits until a sibling
/// connection has brought that key. Answer: Result or Error.</item>
/// <item>Result (→ coordinator): A = request number, B/C = loss sum / hits (double bits), D = count; sections: the
/// gradient tensors (the weights' shapes; block-sparse jobs: each as a code, mask then values).</item>
/// <item>Error (either way): sections [UTF-8 message]; the connection is closed after it.</item>
/// </list></summary>
public static class NodeProtocol
{
    /// <summary>Frame kinds.</summary>
    public const byte Job = 1, Ready = 2, Work = 3, Result = 4, Error = 255;

    /// <summary>Longest error message or plan text accepted (bytes).</summary>
    public const int MaxTextBytes = 1 << 20;

    /// <summary>Error frame field A: the node refuses for now only (<see cref="ActorTrainer.Core.ShardComputeBusyException"/>: its one device
    /// serves another connection), so the coordinator may ask again; 0 (what nodes before it send) = refused for good.</summary>
    public const long ErrorBusy = 1;

    /// <summary>Sends an Error frame with `message` (best effort: the peer may be gone); `busy`: <see cref="ErrorBusy"/>.</summary>
    public static void TrySendError(TensorConnection c, string message, bool busy = false)
    {
        try { c.Send(Error, busy ? ErrorBusy : 0, 0, 0, 0, Encoding.UTF8.GetBytes(message)); }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    /// <summary>Reads the single text section of a Job or Error frame (at most MaxTextBytes).</summary>
    public static byte[] ReadText(TensorConnection c, FrameHeader h, string what)
    {
        if (h.SectionCount != 1) throw new DataPlaneException($"{what} frame from {c.RemoteEndPoint}: expected one text section of at most {MaxTextBytes} bytes");
        return ReadText(c, h, 0, what);
    }

    /// <summary>Reads section `index` (the next one to receive) as text of at most MaxTextBytes.</summary>
    public static byte[] ReadText(TensorConnection c, FrameHeader h, int index, string what)
    {
        if (index >= h.SectionCount || h.Types[index] != SectionType.Bytes || h.Lengths[index] > MaxTextBytes)
            throw new DataPlaneException($"{what} frame from {c.RemoteEndPoint}: expected a text section of at most {MaxTextBytes} bytes at {index}");
        var text = new byte[h.Lengths[index]];
        c.ReceiveSection(text.AsSpan());
        return text;
    }

    /// <summary>The message of an Error frame.</summary>
    public static string ReadError(TensorConnection c, FrameHeader h) => Encoding.UTF8.GetString(ReadText(c, h, "error"));
}
