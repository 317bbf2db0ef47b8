namespace ActorTrainer.Runtime.DataPlane;

/// <summary>A data plane protocol violation (bad handshake, bad header, limit exceeded, refused TLS peer). The
/// message names the endpoint and what was wrong; the connection is unusable afterwards and should be disposed.</summary>
public sealed class DataPlaneException : IOException
{
    /// <summary>A violation described by <paramref name="message"/>.</summary>
    public DataPlaneException(string message) : base(message) { }

    /// <summary>A violation described by <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public DataPlaneException(string message, Exception inner) : base(message, inner) { }
}
