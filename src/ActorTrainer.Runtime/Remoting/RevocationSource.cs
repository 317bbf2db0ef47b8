using System.Security.Cryptography.X509Certificates;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>The CA's revocation list as a file an operator replaces (key <c>cluster.tls.revocation-list</c>): read at
/// start (a file that cannot be used stops the node there, naming it) and read at every check after that (a
/// connection's handshake), parsed again whenever its bytes changed, so that revoking a node's certificate takes effect at its next connection without a restart. A replacement
/// that cannot be used (half-written, another CA's, expired, deleted) fails closed: new connections are refused,
/// naming the file and why, until a good list is in place (connections already made stay).</summary>
public sealed class RevocationSource
{
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2? _own;
    private readonly Lock _gate = new();
    private RevocationList? _list;
    private string? _unusable;
    private byte[] _bytes;

    /// <summary>Loads the list at <paramref name="path"/> for <paramref name="ca"/>; throws ArgumentException naming the
    /// file when it cannot be used. <paramref name="own"/>: this node's certificate (see <see cref="OwnRevocation"/>).</summary>
    public RevocationSource(string path, X509Certificate2 ca, X509Certificate2? own = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _ca = ca ?? throw new ArgumentNullException(nameof(ca));
        _own = own;
        _bytes = RevocationList.Read(path);
        _list = RevocationList.Load(path, _bytes, ca, DateTimeOffset.UtcNow);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Why <paramref name="chain"/> (built to the CA) is refused: a certificate in it that the CA issued is on
    /// the list, or the list's file was replaced by one that cannot be used; as a predicate of the chain's first
    /// certificate. Null when none is revoked.</summary>
    public string? RevokedIn(X509Chain chain)
    {
        var (list, unusable) = Current();
        if (list is null) return $"cannot be checked: {unusable}";
        for (int i = 0; i < chain.ChainElements.Count - 1; i++)
        {
            var c = chain.ChainElements[i].Certificate;
            if (list.Revokes(c, _ca))
                return i == 0 ? $"is revoked (serial {c.SerialNumber}) by the CA's revocation list '{Path}'"
                    : $"chains through '{c.Subject}' (serial {c.SerialNumber}), which the CA's revocation list '{Path}' revokes";
        }
        return null;
    }

    /// <summary>When the list in force revokes this node's own certificate (given to the constructor) — the CA revoked it
    /// while the node runs, so every peer refuses its handshakes — why, naming the serial and the file; else null.
    /// What the node says about handshakes that failed on the peer's side, where TLS tells it nothing more.</summary>
    public string? OwnRevocation()
    {
        if (_own is null) return null;
        var (list, _) = Current();
        return list is not null && list.Revokes(_own, _ca)
            ? $"this node's own certificate {_own.Subject} (serial {_own.SerialNumber}) is revoked by the CA's revocation list '{Path}': every peer refuses it; give the node a new certificate"
            : null;
    }

    /// <summary>The list in force (parsed again when the file's bytes changed), or null and why the file cannot be used.</summary>
    private (RevocationList? List, string? Unusable) Current()
    {
        byte[]? bytes;
        string? unreadable = null;
        try { bytes = RevocationList.Read(Path); }
        catch (ArgumentException e) { (bytes, unreadable) = (null, e.Message); }
        lock (_gate)
        {
            if (bytes is null) (_bytes, _list, _unusable) = ([], null, Unusable(unreadable!));
            else if (!bytes.AsSpan().SequenceEqual(_bytes))
            {
                _bytes = bytes;
                try { (_list, _unusable) = (RevocationList.Load(Path, bytes, _ca, DateTimeOffset.UtcNow), null); }
                catch (ArgumentException e) { (_list, _unusable) = (null, Unusable(e.Message)); }
            }
            return (_list, _unusable);
        }
    }

    private static string Unusable(string why) =>
        why + " (new connections are refused until it is replaced by a current list from the CA)";
}
