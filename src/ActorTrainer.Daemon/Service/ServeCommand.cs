using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ActorTrainer.Daemon.Service;

/// <summary><c>serve [--config FILE] [--set key=value]...</c>: the training service on the .NET Generic Host
/// (systemd-aware), Kestrel on serve.address:serve.port.</summary>
public static class ServeCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage =
        "serve [--config FILE] [--set key=value]...\n" +
        "  run the training service: a job queue behind an HTTP API on serve.address:serve.port (default 127.0.0.1:8470);\n" +
        "  the serve.* keys are documented in config/reference.conf";

    /// <summary>Runs the service until SIGTERM / Ctrl-C; returns the exit code. A start refused before the service
    /// listens (a port in use, a runs root or job store another serve holds, a job store that is not one) removes what
    /// it created on disk (<see cref="StartFootprint"/>).</summary>
    public static int Run(CommandLine cl, SignalGate signals)
    {
        var config = ConfigLoader.Load(cl.Get("config"), cl.All("set").ToList());
        var options = ServeOptions.From(config);
        var created = new StartFootprint();
        var listening = false;
        FileStream? runsLock = null, storeLock = null;
        JobStore? store = null;
        try
        {
            CreateRunsRoot(options.RunsRoot, created);
            runsLock = LockRunsRoot(options, created);
            storeLock = LockStore(options, created);
            store = OpenStore(options, created);
            return Serve(options, store, signals, () => listening = true);
        }
        catch when (!listening)
        {
            store?.Dispose();        // closed first, so that SQLite's -wal and -shm files are gone or can go
            store = null;
            created.Undo();          // while the locks are still held
            throw;
        }
        finally
        {
            store?.Dispose();
            storeLock?.Dispose();
            runsLock?.Dispose();
        }
    }

    /// <summary>Hosts the service on the open job store until it stops; <paramref name="listening"/> runs once it listens.</summary>
    private static int Serve(ServeOptions options, JobStore store, SignalGate signals, Action listening)
    {
        ServicePriority.LowerServiceThreads(options.Nice);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Environment.CurrentDirectory });
        builder.Host.UseSystemd();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = false; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);   // a failed start is reported below, in one line
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            k.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.StopTimeout + TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton<JobProgressBook>();
        builder.Services.AddSingleton(sp => new JobStatusCache(sp.GetRequiredService<JobStore>(), sp.GetRequiredService<JobProgressBook>(),
            sp.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions));   // the options Results.Json uses
        builder.Services.AddSingleton<JobRunner>();
        builder.Services.AddSingleton(new FileLinks());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobRunner>());
        builder.Services.AddOpenApi();

        var app = builder.Build();
        var links = app.Services.GetRequiredService<FileLinks>();
        app.UseBearerToken(options.Token, links);
        app.MapOpenApi();
        var runner = app.Services.GetRequiredService<JobRunner>();
        app.MapJobApi(store, runner, app.Services.GetRequiredService<JobProgressBook>(),
                      app.Services.GetRequiredService<JobStatusCache>(), links, options);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serve");
        app.Lifetime.ApplicationStarted.Register(() =>     // once it listens (a port in use fails before this)
        {
            listening();
            log.LogInformation("serving on {Url} (runs root {Root}, job store {Db}, {Max} concurrent job(s){Auth})", options.LocalUrl,
                               options.RunsRoot, options.Database, options.MaxConcurrentJobs, options.Token is null ? "" : ", bearer token required");
        });
        try
        {
            // The host stops on SIGTERM / SIGINT itself; the claim keeps the signal gate from ending the process first.
            using var claim = signals.ClaimForTraining();
            app.Run();
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"serve.address:serve.port = {options.Address}:{options.Port}: cannot listen: {e.Message}");
        }
        // It stopped because the job store could not record a change: exit 74 with that one line (systemd restarts it).
        if (runner.StoreFailure is { } failure) throw failure;
        return 0;
    }

    /// <summary>Creates serve.runs-root; what stands in the way (a file, no permission) is refused naming the key.</summary>
    private static void CreateRunsRoot(string path, StartFootprint created)
    {
        if (File.Exists(path)) throw new ConfigException($"serve.runs-root '{path}' is a file, not a directory");
        try
        {
            created.CreateFolder(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"serve.runs-root '{path}': cannot create the directory: {e.Message}");
        }
    }

    /// <summary>One daemon per runs root: an exclusive lock on &lt;runs-root&gt;/serve.lock (released when the
    /// process dies, however it dies; not inherited by trainer children).</summary>
    private static FileStream LockRunsRoot(ServeOptions options, StartFootprint created)
    {
        var path = Path.Combine(options.RunsRoot, "serve.lock");
        try
        {
            created.WillCreate(path);
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new ConfigException($"serve.runs-root '{options.RunsRoot}' is in use by another running serve (lock {path}: {e.Message})");
        }
    }

    /// <summary>One daemon per job store as well: an exclusive lock on &lt;serve.database&gt;.lock. Two daemons with
    /// different runs roots but one database would each take the other's running jobs for orphans (SIGTERM them)
    /// and start the same queued jobs twice.</summary>
    private static FileStream LockStore(ServeOptions options, StartFootprint created)
    {
        var path = options.Database + ".lock";
        try
        {
            created.CreateFolder(Path.GetDirectoryName(path)!);
            created.WillCreate(path);
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"serve.database '{options.Database}' is in use by another running serve or cannot be locked (lock {path}: {e.Message})");
        }
    }

    private static JobStore OpenStore(ServeOptions options, StartFootprint created)
    {
        try
        {
            created.WillCreateDatabase(options.Database);
            return new JobStore(options.Database, options.DatabaseLockTimeout);
        }
        catch (JobStoreFormatException e)
        {
            throw new ConfigException(e.Message);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"serve.database '{options.Database}': cannot open the job store: {e.Message}");
        }
    }
}
