using System.Runtime.InteropServices;

namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// Whether a path names a Unix special file: a device (/dev/null, /dev/stdout's terminal), a FIFO or a socket. An
/// atomic write renames its temporary file over its target, which would replace such a file itself (as root,
/// /dev/null becomes a regular file for the whole machine) instead of writing into it, so a command refuses it first.
/// </summary>
internal static unsafe partial class SpecialFile
{
    private const int TypeMask = 0xF000, Regular = 0x8000, Directory = 0x4000, Link = 0xA000;

    // .NET's own native shim (libSystem.Native, beside the runtime): lstat with a FileStatus that starts with
    // int32 Flags, int32 Mode (file type bits in the portable S_IFMT values above) on every Unix .NET runs on.
    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_LStat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, byte* status);

    /// <summary>The kind of special file <paramref name="path"/> is ("a character device", "a FIFO", ...), or null
    /// for a regular file, a directory, a symbolic link (an atomic write replaces the link, not its target), a path
    /// that does not exist, and on Windows.</summary>
    public static string? Kind(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var status = stackalloc byte[512];         // FileStatus is about 150 bytes
        int mode;
        try
        {
            if (LStat(path, status) != 0) return null;
            mode = *(int*)(status + 4);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        return (mode & TypeMask) switch
        {
            Regular or Directory or Link => null,
            0x2000 => "a character device",
            0x6000 => "a block device",
            0x1000 => "a FIFO (named pipe)",
            0xC000 => "a socket",
            _ => "a special file",
        };
    }
}
