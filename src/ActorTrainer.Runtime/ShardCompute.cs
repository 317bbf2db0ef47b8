using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>A remote worker node is unreachable, closed its connection, broke the protocol or missed its per-step
/// deadline; the work item is handed to another worker.</summary>
public sealed class WorkerNodeLostException(string message, Exception? inner = null) : IOException(message, inner);
