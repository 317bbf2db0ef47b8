namespace ActorTrainer.Runtime.DataPlane;

/// <summary>
/// Mutual TLS for the data plane. Both ends present the certificate in <see cref="CertificatePath"/> (PFX/PKCS#12
/// with its private key, opened with <see cref="Password"/>) and accept a peer only if its certificate chains to the
/// CA certificate in <see cref="TrustedCaPath"/> (PEM or DER) and, with <see cref="RevocationListPath"/>, is not on
/// that CA's revocation list (an X.509 CRL, PEM or DER, read again when the file changes: <see cref="Remoting.RevocationSource"/>); the system trust store and
/// host names are not used.
/// </summary>
/// <param name="CertificatePath">This end's certificate with its private key, PFX/PKCS#12.</param>
/// <param name="Password">Password of the PFX file (null = none).</param>
/// <param name="TrustedCaPath">The CA certificate (PEM or DER) a peer's certificate must chain to.</param>
/// <param name="RevocationListPath">That CA's revocation list, an X.509 CRL (PEM or DER), reread when it changes (null = none).</param>
public sealed record DataPlaneTls(string CertificatePath, string? Password, string TrustedCaPath, string? RevocationListPath = null);

/// <summary>
/// Limits and security of a data plane connection. MaxFrameBytes: largest payload (sum of the sections' bytes) a
/// received frame may announce; MaxSections: most sections per frame; IoTimeout: limit on the handshake and on each
/// blocking read or write (null = reads wait forever); Tls: mutual TLS, or null for plain TCP. Limits are checked
/// before anything is allocated for a frame.
/// </summary>
/// <param name="MaxFrameBytes">Largest payload (sum of the sections' bytes) a received frame may announce (default 256 MiB, ≥ 0).</param>
/// <param name="MaxSections">Most sections per frame (default 4096, 0..1048576).</param>
/// <param name="IoTimeout">Limit on the handshake and on each blocking read or write (null = reads wait forever).</param>
/// <param name="Tls">Mutual TLS, or null for plain TCP.</param>
public sealed record DataPlaneOptions(
    long MaxFrameBytes = 268_435_456,
    int MaxSections = 4096,
    TimeSpan? IoTimeout = null,
    DataPlaneTls? Tls = null)
{
    /// <summary>Limit on the connect and handshake when <see cref="IoTimeout"/> is null, so that a silent peer cannot
    /// hold <c>Accept</c> forever. Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>SO_SNDBUF / SO_RCVBUF in bytes, set before connecting (so TCP window scaling can use them); 0 leaves
    /// the operating system's automatic tuning. Default 4 MiB.</summary>
    public int SocketBufferBytes { get; init; } = 4 << 20;

    /// <summary>Peers on the same host through a Unix domain socket instead of TCP (Linux and macOS): a listener also
    /// listens at <see cref="UnixSocketPaths"/>' path for its address and port, and Connect to a host that is this machine uses it
    /// when it exists (falling back to TCP when it does not answer). Same frames, handshake and TLS; the kernel skips
    /// TCP's segmentation, acknowledgements and checksums, which on a 2-core VM cost a two-node exchange of 1.6 MB per
    /// node and step ~0.2 CPU ms of ~1.3 (bench/RESULTS.md). Default on; config key cluster.data-plane.unix-sockets.</summary>
    public bool UnixSockets { get; init; } = true;

    /// <summary>A sync job to a worker node reached through a Unix domain socket exchanges weights, rows and gradients
    /// through memory both processes map (<see cref="SharedMemory.SharedTensorRegion"/>) instead of the socket; same
    /// bits. Default on; config key cluster.data-plane.shared-memory.</summary>
    public bool SharedMemory { get; init; } = true;

    /// <summary>The timeout that applies to the handshake: IoTimeout if set, else HandshakeTimeout.</summary>
    internal TimeSpan EffectiveHandshakeTimeout => IoTimeout ?? HandshakeTimeout;

    /// <summary>Throws ArgumentException when a limit is out of range.</summary>
    internal void Validate()
    {
        if (MaxFrameBytes < 0) throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, "must be >= 0");
        if (MaxSections is < 0 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(MaxSections), MaxSections, "must be in 0..1048576");
        if (IoTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(IoTimeout), t, "must be positive");
        if (HandshakeTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "must be positive");
        if (SocketBufferBytes < 0) throw new ArgumentOutOfRangeException(nameof(SocketBufferBytes), SocketBufferBytes, "must be >= 0");
    }
}
