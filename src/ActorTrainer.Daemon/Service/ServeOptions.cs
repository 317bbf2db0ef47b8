using System.Net;
using Akka.Configuration;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Service;

/// <summary>The <c>serve.*</c> settings of the training service, read and checked from the layered HOCON config.</summary>
/// <param name="Address">The address Kestrel binds.</param>
/// <param name="Port">The TCP port.</param>
/// <param name="RunsRoot">Absolute directory holding one run directory per job.</param>
/// <param name="Database">Absolute path of the SQLite job store.</param>
/// <param name="MaxConcurrentJobs">Jobs training at the same time.</param>
/// <param name="Token">The bearer token clients must send, or null when none is configured.</param>
/// <param name="MaxRequestBytes">Largest accepted request body.</param>
/// <param name="StopTimeout">Time a SIGTERMed job gets to checkpoint and exit before it is killed.</param>
/// <param name="Nice">How much lower than the trainers the service's own threads run (Linux nice value, 0 = same).</param>
/// <param name="DatabaseLockTimeout">How long a write to the job store waits for a lock another process holds.</param>
public sealed record ServeOptions(IPAddress Address, int Port, string RunsRoot, string Database, int MaxConcurrentJobs,
                                  string? Token, long MaxRequestBytes, TimeSpan StopTimeout, int Nice,
                                  TimeSpan DatabaseLockTimeout = default)
{
    /// <summary>True when the service listens on a loopback address only.</summary>
    public bool IsLoopback => IPAddress.IsLoopback(Address);

    /// <summary>The base URL clients on this machine use.</summary>
    public string LocalUrl => $"http://{(Address.Equals(IPAddress.Any) ? "127.0.0.1" : Address.Equals(IPAddress.IPv6Any) ? "[::1]" : Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Address}]" : Address.ToString())}:{Port}";

    /// <summary>Reads every serve.* key; throws <see cref="ConfigException"/> naming the first bad key.</summary>
    public static ServeOptions From(Config config)
    {
        var r = new ConfigReader(config);
        var addressText = r.String("serve.address").Trim();
        var address = addressText == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(addressText, out var a) ? a
            : throw new ConfigException($"config: serve.address must be an IP address such as 127.0.0.1, ::1 or 0.0.0.0, got '{addressText}'");
        var port = r.Int("serve.port", 1, 65535);
        var runsRootText = r.String("serve.runs-root").Trim();
        if (runsRootText.Length == 0) throw new ConfigException("config: serve.runs-root must name a directory, got ''");
        var runsRoot = Path.GetFullPath(runsRootText);
        var dbText = r.String("serve.database").Trim();
        var database = dbText.Length == 0 ? Path.Combine(runsRoot, "jobs.db") : Path.GetFullPath(dbText);
        var maxJobs = r.Int("serve.max-concurrent-jobs", 1, 1024);
        var maxBytes = r.Int("serve.max-request-bytes", 1024);
        var stopTimeout = r.Duration("serve.stop-timeout");
        var nice = r.Int("serve.nice", 0, 19);
        var lockTimeout = r.Duration("serve.database-lock-timeout");
        if (lockTimeout < TimeSpan.FromSeconds(1) || lockTimeout > TimeSpan.FromHours(1) || lockTimeout.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new ConfigException($"config: serve.database-lock-timeout must be a whole number of seconds from 1s to 1h, got '{r.String("serve.database-lock-timeout")}'");
        var token = ReadToken(r.String("serve.token-file").Trim());
        if (token is null && !IPAddress.IsLoopback(address))
            throw new ConfigException($"config: serve.address = {addressText} listens beyond loopback, so serve.token-file is required " +
                                      "(a file holding the bearer token clients must send); refusing to start without it");
        return new ServeOptions(address, port, runsRoot, database, maxJobs, token, maxBytes, stopTimeout, nice, lockTimeout);
    }

    /// <summary>A token file others may change lets them replace the token: refused (exit 2) with the chmod that
    /// fixes it. One others may read leaks it to every local user: a warning on stderr, not a refusal, since secret
    /// volumes (Kubernetes' default 0644) mount token files so.</summary>
    private static void CheckTokenFileMode(string file)
    {
        if (OperatingSystem.IsWindows()) return;
        var mode = File.GetUnixFileMode(file);
        var octal = Convert.ToString((int)mode, 8);
        if ((mode & (UnixFileMode.OtherWrite | UnixFileMode.GroupWrite)) != 0)
            throw new ConfigException($"config: serve.token-file '{file}' can be changed by other users (mode {octal}), who could " +
                                      $"replace the token; restrict it with `chmod 600 {file}` (or 640 for a group)");
        if ((mode & UnixFileMode.OtherRead) != 0)
            Console.Error.WriteLine($"warning: serve.token-file '{file}' is readable by every user of this machine (mode {octal}); " +
                                    $"`chmod 600 {file}` (or 640 for a group) keeps the token to the service");
    }

    private static string? ReadToken(string file)
    {
        if (file.Length == 0) return null;
        if (!File.Exists(file)) throw new ConfigException($"config: serve.token-file '{file}' does not exist");
        CheckTokenFileMode(file);
        var token = File.ReadAllText(file).Trim();
        if (token.Length < 16)
            throw new ConfigException($"config: serve.token-file '{file}' must hold a token of at least 16 characters, found {token.Length}");
        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ConfigException($"config: serve.token-file '{file}': the token must be one word without spaces");
        return token;
    }
}
