using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace StaticNet;

/// <summary>
/// Training checkpoints: the network's state_dict (weights and buffers), the optimizer's state (moments, momentum, step count, learning rate),
/// the schedule's epoch, the epoch number and the state of every random generator (the network's, for dropout, and any
/// others given, such as a loader's shuffle), in one safetensors file written atomically. Stopping after an epoch and
/// resuming from its checkpoint gives the same weights, bit for bit, as training straight through. The optimizer's type
/// and settings (momentum, betas, ...) are recorded and must match on load; a SHA-256 of the metadata and the data
/// makes any changed bit an error rather than a silently different state.
/// </summary>
public static class Checkpoint
{
    private const string Format = "staticnet-checkpoint";
    private const string Version = "2";
    private const string StepsTensor = "optimizer.steps";

    /// <summary>Saves the training state after <paramref name="epoch"/> completed epochs.</summary>
    public static void Save(string path, Network network, Optimizer? optimizer = null, int epoch = 0, LRScheduler? scheduler = null,
        IReadOnlyList<RandomGenerator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must not be negative.");
        var tensors = network.StateDict().Select(t => SafetensorsTensor.Of("model." + t.Name, t.Tensor)).ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["version"] = Version,
            ["epoch"] = Text(epoch),
            ["generator.network"] = Convert.ToHexString(network.Generator.GetState()),
        };
        if (optimizer is not null)
        {
            metadata["optimizer"] = optimizer.GetType().Name;
            metadata["optimizer.step"] = Text(optimizer.StepCount);
            metadata["optimizer.lr"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
            foreach ((string name, string value) in optimizer.Settings()) metadata["optimizer.setting." + name] = value;
            foreach ((string name, float[] buffer) in optimizer.StateBuffers().Where(b => b.Buffer.Length > 0))
            {
                tensors.Add(new SafetensorsTensor("optimizer." + name, [buffer.Length], buffer, default));
            }
            // Each parameter's own step count (torch's state[p]['step']), in the optimizer's parameter order.
            long[] steps = optimizer.ParameterSteps.Select(s => (long)s).ToArray();
            tensors.Add(new SafetensorsTensor(StepsTensor, [steps.Length], default, steps, IsInt64: true));
        }
        if (scheduler is not null) metadata["scheduler.epoch"] = Text(scheduler.Epoch);
        IReadOnlyList<RandomGenerator> extra = generators ?? [];
        metadata["generators"] = Text(extra.Count);
        for (int i = 0; i < extra.Count; i++) metadata["generator." + Text(i)] = Convert.ToHexString(extra[i].GetState());
        using (IncrementalHash hash = Checksum(metadata))
        {
            foreach (SafetensorsTensor t in tensors)
            {
                // The bytes as Safetensors.Write puts them in the file: little-endian, in this order.
                if (t.IsInt64) AppendLittleEndian(hash, t.Int64s.Span);
                else AppendLittleEndian(hash, t.Floats.Span);
            }
            metadata["checksum"] = Convert.ToHexString(hash.GetHashAndReset());
        }
        Safetensors.Write(path, tensors.ToArray(), metadata);
    }

    /// <summary>A SHA-256 that has seen every metadata entry but the checksum, in key order; the data goes in after.</summary>
    private static IncrementalHash Checksum(IReadOnlyDictionary<string, string> metadata)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string key, string value) in metadata.Where(m => m.Key != "checksum").OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(key + "\0" + value + "\0"));
        }
        return hash;
    }

    private static void AppendLittleEndian<T>(IncrementalHash hash, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Checkpoints are written on little-endian machines.");
        hash.AppendData(MemoryMarshal.AsBytes(values));
    }

    /// <summary>
    /// Restores what <see cref="Save"/> wrote into the same kinds of objects and returns the epoch it was saved after.
    /// Everything is checked before anything changes, the weights first: a checkpoint of another network throws
    /// <see cref="StateDictMismatchException"/>; one of another optimizer (type or settings), a changed byte (the
    /// checksum) or anything malformed throws <see cref="InvalidDataException"/>.
    /// </summary>
    public static int Load(string path, Network network, Optimizer? optimizer = null, LRScheduler? scheduler = null,
        IReadOnlyList<RandomGenerator>? generators = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        using SafetensorsFile file = SafetensorsFile.Open(path);
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        if (Get(path, meta, "format") != Format || Get(path, meta, "version") != Version)
        {
            throw new InvalidDataException($"{path}: not a StaticNet checkpoint of version {Version}" +
                (meta.TryGetValue("version", out string? version) && meta.GetValueOrDefault("format") == Format ? $" (it is version {version}, written before checksums and optimizer settings were recorded)." : "."));
        }
        using (IncrementalHash hash = Checksum(meta))
        {
            file.HashData(hash);
            if (Convert.ToHexString(hash.GetHashAndReset()) != Get(path, meta, "checksum"))
            {
                throw new InvalidDataException($"{path}: the checkpoint's checksum does not match its content: the file was changed or damaged after it was saved.");
            }
        }
        // The weights first: a checkpoint of another network is reported as that, not as a missing optimizer state.
        StateDictLoader.Load(network.StateDict().ToArray(), file, path, strict: true, prefix: "model.", apply: false);
        int epoch = Number(path, meta, "epoch");
        byte[] networkState = State(path, meta, "generator.network");
        IReadOnlyList<RandomGenerator> extra = generators ?? [];
        if (Number(path, meta, "generators") != extra.Count)
        {
            throw new InvalidDataException($"{path}: the checkpoint holds {meta["generators"]} extra generators, but {extra.Count} were given.");
        }
        byte[][] extraStates = Enumerable.Range(0, extra.Count).Select(i => State(path, meta, "generator." + Text(i))).ToArray();

        var optimizerBuffers = new List<(float[] Buffer, TensorInfo Tensor)>();
        int step = 0;
        int[] parameterSteps = [];
        float lr = 0;
        if (optimizer is not null)
        {
            string saved = meta.TryGetValue("optimizer", out string? type) ? type : "none";
            if (saved != optimizer.GetType().Name)
            {
                throw new InvalidDataException($"{path}: the checkpoint holds the state of optimizer {saved}, but the optimizer is {optimizer.GetType().Name}.");
            }
            var savedSettings = meta.Where(m => m.Key.StartsWith("optimizer.setting.", StringComparison.Ordinal))
                .ToDictionary(m => m.Key["optimizer.setting.".Length..], m => m.Value, StringComparer.Ordinal);
            IReadOnlyList<(string Name, string Value)> settings = optimizer.Settings();
            string Describe(IEnumerable<(string Name, string Value)> items) => string.Join(", ", items.Select(i => $"{i.Name}={i.Value}"));
            if (savedSettings.Count != settings.Count || settings.Any(s => savedSettings.GetValueOrDefault(s.Name) != s.Value))
            {
                throw new InvalidDataException($"{path}: the checkpoint's {saved} was built with {Describe(savedSettings.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, m.Value)))}, " +
                    $"but this one with {Describe(settings.OrderBy(s => s.Name, StringComparer.Ordinal))}: build the optimizer with the checkpoint's settings.");
            }
            step = Number(path, meta, "optimizer.step");
            if (!float.TryParse(Get(path, meta, "optimizer.lr"), NumberStyles.Float, CultureInfo.InvariantCulture, out lr) || !(lr >= 0) || !float.IsFinite(lr))
            {
                throw new InvalidDataException($"{path}: optimizer.lr is not a valid learning rate.");
            }
            foreach ((string name, float[] buffer) in optimizer.StateBuffers().Where(b => b.Buffer.Length > 0))
            {
                TensorInfo? tensor = file.Find("optimizer." + name);
                if (tensor is null || tensor.Shape.Length != 1 || tensor.Shape[0] != buffer.Length || tensor.DType != "F32")
                {
                    throw new InvalidDataException($"{path}: optimizer state '{name}' is missing or is not F32 [{buffer.Length}].");
                }
                optimizerBuffers.Add((buffer, tensor));
            }
            parameterSteps = new int[optimizer.Parameters.Count];
            if (file.Find(StepsTensor) is TensorInfo stepsTensor)
            {
                if (stepsTensor.Shape.Length != 1 || stepsTensor.Shape[0] != parameterSteps.Length || stepsTensor.DType != "I64")
                {
                    throw new InvalidDataException($"{path}: '{StepsTensor}' is not I64 [{parameterSteps.Length}], one step count per parameter of the optimizer.");
                }
                var counts = new long[parameterSteps.Length];
                file.ReadInt64s(stepsTensor, counts);
                for (int i = 0; i < counts.Length; i++)
                {
                    if (counts[i] < 0 || counts[i] > step)
                    {
                        throw new InvalidDataException($"{path}: parameter {i}'s step count {counts[i]} is not in [0, {step}], the optimizer's steps.");
                    }
                    parameterSteps[i] = (int)counts[i];
                }
            }
            else
            {
                // Saved before per-parameter counts were recorded: every parameter had every step.
                Array.Fill(parameterSteps, step);
            }
        }
        int schedulerEpoch = scheduler is null ? 0 : Number(path, meta, "scheduler.epoch");

        // Validated: now change things, weights first (a strict load throws before writing anything).
        Safetensors.LoadState(network.StateDict().ToArray(), file, path, strict: true, prefix: "model.");
        foreach ((float[] buffer, TensorInfo tensor) in optimizerBuffers) file.ReadFloats(tensor, buffer);
        if (optimizer is not null)
        {
            optimizer.StepCount = step;
            optimizer.SetParameterSteps(parameterSteps);
            optimizer.LearningRate = lr;
        }
        if (scheduler is not null) scheduler.Epoch = schedulerEpoch;
        network.Generator.SetState(networkState);
        for (int i = 0; i < extra.Count; i++) extra[i].SetState(extraStates[i]);
        return epoch;
    }

    private static string Get(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(key, out string? value) ? value : throw new InvalidDataException($"{path}: the checkpoint has no '{key}' entry.");

    private static int Number(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        int.TryParse(Get(path, meta, key), NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new InvalidDataException($"{path}: '{key}' is not a whole number.");

    private static byte[] State(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        string hex = Get(path, meta, key);
        byte[] state;
        try
        {
            state = Convert.FromHexString(hex);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{path}: '{key}' is not a hexadecimal generator state.", e);
        }
        try
        {
            new RandomGenerator().SetState(state);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: '{key}' is not a valid generator state ({e.Message}).", e);
        }
        return state;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
