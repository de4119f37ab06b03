using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Google.Protobuf;
using StaticNet.OnnxProto;

namespace StaticNet;

/// <summary>
/// ONNX interchange: <see cref="Export(Network, string)"/> writes a network (in eval mode: dropout left out, BatchNorm
/// with its running statistics) as an ONNX model of opset 17 that ONNX Runtime and other engines run; <see
/// cref="LoadWeights(Module, string, bool)"/> reads the initializers of an ONNX file (torch.onnx.export's, or ours)
/// into a network by state_dict name. The protobuf classes are generated from ONNX's own onnx.proto.
/// </summary>
public static class Onnx
{
    /// <summary>The operator set exported models use.</summary>
    public const int Opset = 17;

    /// <summary>
    /// Writes <paramref name="network"/> to <paramref name="path"/> as an ONNX model: one input "input" of the per-sample
    /// shape with a symbolic batch dimension, one output "output", initializers named as in the state_dict (buffers
    /// included). The file is written beside the target and renamed over it, so a failure leaves no half-written file.
    /// A layer with no ONNX form throws <see cref="NotSupportedException"/> naming it, before anything is written.
    /// </summary>
    public static void Export(Network network, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ModelProto model = OnnxExporter.Export(network);
        AtomicFile.Write(path, model.WriteTo);
    }

    /// <summary>Writes <paramref name="network"/> to <paramref name="stream"/> as an ONNX model, as <see cref="Export(Network, string)"/>.</summary>
    public static void Export(Network network, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        OnnxExporter.Export(network).WriteTo(stream);
    }

    /// <summary>
    /// Loads the initializers of the ONNX model at <paramref name="path"/> (as torch.onnx.export writes them from a
    /// module whose state_dict names match, or as <see cref="Export(Network, string)"/> does) into
    /// <paramref name="module"/>'s state_dict by name, exactly as <see cref="Safetensors.Load"/> does: F32 from FLOAT,
    /// FLOAT16, BFLOAT16 or DOUBLE, I64 buffers from INT64 or INT32; strict (the default) throws
    /// <see cref="StateDictMismatchException"/> listing every mismatch and loads nothing. A malformed or hostile file
    /// throws <see cref="InvalidDataException"/>. Weights kept in external data files are not supported. Counters
    /// (BatchNorm's num_batches_tracked) that the file lacks are left as they are, not reported missing: PyTorch's
    /// exporter does not write them. Where PyTorch's exporter has folded layers (a Conv2d and the BatchNorm after it, in
    /// eval mode) the folded weights have new names, so such a file loads only in part (strict: false reports the rest).
    /// </summary>
    public static LoadResult LoadWeights(Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        OnnxInitializers source = OnnxInitializers.Open(path);
        var state = module.StateDict().Where(t => !(t.Tensor is ModuleBuffer { DType: TensorDType.I64 } && !source.TryFind(t.Name, out _, out _))).ToArray();
        return StateDictLoader.Load(state, source, path, strict, prefix: "");
    }

    /// <summary>The ONNX model of <paramref name="network"/> as bytes, as <see cref="Export(Network, string)"/> writes it.</summary>
    public static byte[] ToBytes(Network network) => OnnxExporter.Export(network).ToByteArray();
}
