using ActorTrainer.Core;
using ActorTrainer.Daemon.Cli;

namespace ActorTrainer.Daemon.Commands;

/// <summary>
/// The checks of <c>export --output FILE</c>, made before anything is written. A file output
/// goes into a folder that exists, as <c>cp</c> and <c>torch.save</c> want it: export creates no folders (a typo in
/// the folder would otherwise leave a tree of them behind); only <c>train --run-dir</c>, a directory output, is
/// created with its parents. Every refusal is a <see cref="UsageException"/> (exit 2) naming --output.
/// </summary>
public static class ExportTarget
{
    /// <summary>Refuses an empty --output, one that names a folder (an existing directory, or a path ending in a
    /// separator), a device, FIFO or socket (<see cref="SpecialFile"/>), one inside the model directory <paramref name="modelDir"/> (a model directory holds only the model's
    /// files: a later save there, e.g. <c>train --resume</c>, refuses any other), and one whose folder does not exist
    /// or is a file.</summary>
    public static void Check(string output, string modelDir)
    {
        if (output.Trim().Length == 0) throw new UsageException("export: --output is empty; give a file name such as mnist.onnx");
        if (Directory.Exists(output))
            throw new UsageException($"export: --output '{output}' is a directory; give a file name such as {Path.Combine(output, "model.onnx")}");
        if (Path.EndsInDirectorySeparator(output))
            throw new UsageException($"export: --output '{output}' ends with '{output[^1]}', which names a directory; give a file name such as {Path.Combine(output, "model.onnx")}");
        if (SpecialFile.Kind(output) is { } kind)
            throw new UsageException($"export: --output '{output}' is {kind}; an export replaces its file by renaming a new one over it, " +
                                     "so give the name of a regular file");
        CheckOutsideModel(output, modelDir);
        var full = Path.GetFullPath(output);
        var folder = Path.GetDirectoryName(output) is { Length: > 0 } given ? given : Path.GetDirectoryName(full)!;
        if (File.Exists(Path.GetDirectoryName(full)))
            throw new UsageException($"export: the folder of --output '{output}', '{folder}', is a file; give a path in an existing folder");
        if (!Directory.Exists(Path.GetDirectoryName(full)))
            throw new UsageException($"export: the folder of --output '{output}', '{folder}', does not exist; create it first " +
                                     "(export creates no folders, as cp does not)");
    }

    /// <summary>Refuses an --output whose folder is the model directory: the model's own files by that name, any other
    /// file because the directory could no longer be saved into.</summary>
    private static void CheckOutsideModel(string output, string modelDir)
    {
        var full = Path.GetFullPath(output);
        var model = Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir));
        if (Path.GetDirectoryName(full) != model) return;
        var beside = Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(modelDir)) ?? "", "model.onnx");
        if (ModelFiles.OwnFiles.Contains(Path.GetFileName(full)))
            throw new UsageException($"export: --output '{output}' is a file of the model being exported; give another name such as {beside}");
        throw new UsageException($"export: --output '{output}' is inside the model directory '{modelDir}', which holds only the model's " +
                                 $"files (a later save there, such as train --resume, refuses a directory holding others); write it beside it, e.g. {beside}");
    }
}
