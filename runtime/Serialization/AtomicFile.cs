using System;
using System.IO;

namespace StaticNet;

/// <summary>
/// Writes a file so that the target holds either its old content or the whole new one, never part of it: the bytes go
/// to a temporary file beside the target, are flushed to disk, and the temporary file is renamed over the target.
/// <list type="bullet">
/// <item>The temporary name is short and independent of the target's length (<c>.sn-{hash}-{random}.tmp</c>), so any
/// legal file name can be written.</item>
/// <item>A temporary file left by a killed save of the same target is deleted by the next save: one that no process holds
/// open (locked) and that nobody has written to for a minute.</item>
/// <item>A symbolic link is written through: the file it points to is replaced and the link stays.</item>
/// <item>An I/O failure is an <see cref="IOException"/> (or <see cref="UnauthorizedAccessException"/>) naming the target.</item>
/// </list>
/// </summary>
internal static class AtomicFile
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);

    public static void Write(string path, Action<FileStream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string target = Path.GetFullPath(path);
        if (new FileInfo(target).LinkTarget is not null && File.ResolveLinkTarget(target, returnFinalTarget: true) is FileSystemInfo linked) target = linked.FullName;
        string directory = Path.GetDirectoryName(target) ?? ".";
        string prefix = TemporaryPrefix(target);
        string temporary = Path.Combine(directory, prefix + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");
        try
        {
            RemoveStale(directory, prefix);
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            string message = $"Could not write '{path}': {e.Message}";
            throw e is UnauthorizedAccessException ? new UnauthorizedAccessException(message, e) : new IOException(message, e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Deletes temporary files of earlier saves of this target that were killed before their rename.</summary>
    private static void RemoveStale(string directory, string prefix)
    {
        foreach (string candidate in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
        {
            try
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(candidate) < StaleAfter) continue;
                // A live save holds its temporary file open without sharing (an exclusive lock on Unix): opening it so fails.
                using (new FileStream(candidate, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use, already gone, or not ours to delete: leave it.
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>How the temporary files of a save to <paramref name="target"/> start: a hash (FNV-1a) of its file name, the same in every process.</summary>
    internal static string TemporaryPrefix(string target)
    {
        uint hash = 2166136261;
        foreach (char c in Path.GetFileName(target)) hash = (hash ^ c) * 16777619;
        return $".sn-{hash:x8}-";
    }
}
