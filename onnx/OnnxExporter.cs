using System;
using System.Collections.Generic;
using System.Linq;
using StaticNet.OnnxProto;

namespace StaticNet;

/// <summary>
/// Walks a network's layers in order, as its generated Forward runs them, and writes one ONNX node (or a short fixed
/// decomposition) per layer, in eval mode: dropout and identity are left out, BatchNorm uses its running statistics.
/// Weights and buffers become initializers under their state_dict names. Shapes are tracked per sample, as the layers see them.
/// </summary>
internal sealed class OnnxExporter
{
    private readonly GraphBuilder _g = new();

    public static ModelProto Export(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.Owner is not null)
        {
            throw new ArgumentException($"This {network.GetType().Name} is a block inside {network.Owner.GetType().Name}: export {network.Owner.GetType().Name}.", nameof(network));
        }
        var exporter = new OnnxExporter();
        foreach ((string name, StateTensor tensor) in network.StateDict())
        {
            switch (tensor)
            {
                case Parameter parameter:
                    exporter._g.Initializer(name, parameter.Data, tensor.Shape);
                    break;
                case ModuleBuffer { DType: TensorDType.I64 } counter:
                    exporter._g.Initializer(name, counter.Int64Data, tensor.Shape);
                    break;
                case ModuleBuffer buffer:
                    exporter._g.Initializer(name, buffer.Data, tensor.Shape);
                    break;
            }
        }
        exporter._g.Graph.Input.Add(GraphBuilder.Value("input", network.SampleInputShape));
        (string output, _) = exporter.Sequence(network, "", "input", network.SampleInputShape.ToArray());
        // The graph's output is named 'output': an Identity gives the last value that name.
        var last = new NodeProto { OpType = "Identity", Name = "output" };
        last.Input.Add(output);
        last.Output.Add("output");
        exporter._g.Graph.Node.Add(last);
        exporter._g.Graph.Output.Add(GraphBuilder.Value("output", network.SampleOutputShape));
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "StaticNet",
            ProducerVersion = typeof(Network).Assembly.GetName().Version?.ToString() ?? "",
            Graph = exporter._g.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = StaticNet.Onnx.Opset });
        return model;
    }

    /// <summary>The layers of a network (or a block) in order; returns the last value and its per-sample shape.</summary>
    private (string Value, int[] Shape) Sequence(Network network, string prefix, string x, int[] shape)
    {
        foreach ((string name, Module layer) in network.NamedChildren())
        {
            (x, shape) = Layer(layer, prefix + name, x, shape);
        }
        return (x, shape);
    }

    private (string, int[]) Layer(Module layer, string name, string x, int[] shape)
    {
        switch (layer)
        {
            case Linear linear:
                return (Linear(linear, name, x, shape.Length), [.. shape[..^1], linear.OutFeatures]);
            case Flatten flatten:
                return Flatten(flatten, x, shape);
            case ReLU:
                return (_g.Node("Relu", [x], name), shape);
            case LeakyReLU leaky:
                return (_g.Node("LeakyRelu", [x], name, GraphBuilder.Float("alpha", leaky.NegativeSlope)), shape);
            case Sigmoid:
                return (_g.Node("Sigmoid", [x], name), shape);
            case Tanh:
                return (_g.Node("Tanh", [x], name), shape);
            case SiLU:
                return (_g.Node("Mul", [x, _g.Node("Sigmoid", [x], name + ".sigmoid")], name), shape);
            case GELU gelu:
                return (gelu.Approximate == "tanh" ? GeluTanh(name, x) : Gelu(name, x), shape);
            case Softmax softmax:
                return (_g.Node("Softmax", [x], name, GraphBuilder.Int("axis", softmax.Dim)), shape);
            case Dropout or Identity:
                return (x, shape);
            case BatchNorm bn:
                return (BatchNorm(bn, name, x), shape);
            case LayerNorm ln:
                return (LayerNorm(ln, name, x), shape);
            case Conv2d conv:
                return (Conv(conv, name, x, oneD: false), [conv.Geometry.OutChannels, conv.Geometry.OutHeight, conv.Geometry.OutWidth]);
            case Conv1d conv:
                return (Conv(conv, name, x, oneD: true), [conv.Geometry.OutChannels, conv.Geometry.OutWidth]);
            case MaxPool2d pool:
                return (MaxPool(pool.Geometry, name, x, oneD: false), [pool.Geometry.Channels, pool.Geometry.OutHeight, pool.Geometry.OutWidth]);
            case MaxPool1d pool:
                return (MaxPool(pool.Geometry, name, x, oneD: true), [pool.Geometry.Channels, pool.Geometry.OutWidth]);
            case AvgPool2d pool:
                return (AvgPool(pool.Geometry, pool.CountIncludePad, pool.DivisorOverride, name, x, oneD: false), [pool.Geometry.Channels, pool.Geometry.OutHeight, pool.Geometry.OutWidth]);
            case AvgPool1d pool:
                return (AvgPool(pool.Geometry, pool.CountIncludePad, 0, name, x, oneD: true), [pool.Geometry.Channels, pool.Geometry.OutWidth]);
            case AdaptiveAvgPool2d pool:
                return (Adaptive(name, x, shape, pool.OutputH, pool.OutputW, max: false), [shape[0], pool.OutputH, pool.OutputW]);
            case AdaptiveMaxPool2d pool:
                return (Adaptive(name, x, shape, pool.OutputH, pool.OutputW, max: true), [shape[0], pool.OutputH, pool.OutputW]);
            case AdaptiveAvgPool1d pool:
                return (Adaptive(name, x, shape, 1, pool.OutputSize, max: false), [shape[0], pool.OutputSize]);
            case AdaptiveMaxPool1d pool:
                return (Adaptive(name, x, shape, 1, pool.OutputSize, max: true), [shape[0], pool.OutputSize]);
            case Residual residual:
            {
                (string body, int[] bodyShape) = Sequence(residual.Block, name + ".block.", x, shape);
                string skip = residual.Shortcut is null ? x : Sequence(residual.Shortcut, name + ".shortcut.", x, shape).Value;
                return (_g.Node("Add", [body, skip], name), bodyShape);
            }
            case Network block:
                return Sequence(block, name + ".", x, shape);
            default:
                throw new NotSupportedException($"Layer '{name}' ({layer.GetType().Name}) cannot be exported to ONNX: no ONNX form is written for it.");
        }
    }

    /// <summary>Gemm with transB for one vector per sample; MatMul with the transposed weight, then Add, over more dimensions.</summary>
    private string Linear(Linear linear, string name, string x, int rank)
    {
        if (rank == 1)
        {
            string[] inputs = linear.Bias is null ? [x, name + ".weight"] : [x, name + ".weight", name + ".bias"];
            return _g.Node("Gemm", inputs, name, GraphBuilder.Int("transB", 1));
        }
        string transposed = _g.Node("Transpose", [name + ".weight"], name + ".weight_t", GraphBuilder.Ints("perm", 1, 0));
        string product = _g.Node("MatMul", [x, transposed], name + ".matmul");
        return linear.Bias is null ? product : _g.Node("Add", [product, name + ".bias"], name);
    }

    /// <summary>ONNX's Flatten where it is the same (all dimensions from 1); otherwise a Reshape to the flattened per-sample shape.</summary>
    private (string, int[]) Flatten(Flatten flatten, string x, int[] shape)
    {
        int rank = shape.Length + 1;
        int start = flatten.StartDim < 0 ? flatten.StartDim + rank : flatten.StartDim, end = flatten.EndDim < 0 ? flatten.EndDim + rank : flatten.EndDim;
        int merged = shape[(start - 1)..end].Aggregate(1, (a, b) => a * b);
        int[] output = [.. shape[..(start - 1)], merged, .. shape[end..]];
        if (start == 1 && end == rank - 1) return (_g.Node("Flatten", [x], "flatten", GraphBuilder.Int("axis", 1)), output);
        string target = _g.Constant("shape", [0L, .. output.Select(d => (long)d)], output.Length + 1);
        return (_g.Node("Reshape", [x, target], "reshape"), output);
    }

    /// <summary>x Phi(x) with the error function: 0.5 x (1 + erf(x / sqrt 2)).</summary>
    private string Gelu(string name, string x)
    {
        string scaled = _g.Node("Mul", [x, _g.Constant("inv_sqrt2", [0.70710678118654752f])], name + ".scaled");
        string erf = _g.Node("Erf", [scaled], name + ".erf");
        string onePlus = _g.Node("Add", [erf, _g.Constant("one", [1f])], name + ".one_plus");
        string half = _g.Node("Mul", [x, _g.Constant("half", [0.5f])], name + ".half");
        return _g.Node("Mul", [half, onePlus], name);
    }

    /// <summary>0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), written out.</summary>
    private string GeluTanh(string name, string x)
    {
        string cube = _g.Node("Mul", [_g.Node("Mul", [x, x], name + ".square"), x], name + ".cube");
        string inner = _g.Node("Add", [x, _g.Node("Mul", [cube, _g.Constant("coefficient", [0.044715f])], name + ".scaled_cube")], name + ".inner");
        string tanh = _g.Node("Tanh", [_g.Node("Mul", [inner, _g.Constant("sqrt_2_over_pi", [0.79788456080286536f])], name + ".argument")], name + ".tanh");
        string onePlus = _g.Node("Add", [tanh, _g.Constant("one", [1f])], name + ".one_plus");
        return _g.Node("Mul", [_g.Node("Mul", [x, _g.Constant("half", [0.5f])], name + ".half"), onePlus], name);
    }

    /// <summary>BatchNormalization in inference mode, with the running statistics (ones and zeros where the layer is not affine).</summary>
    private string BatchNorm(BatchNorm bn, string name, string x)
    {
        if (!bn.TrackRunningStats)
        {
            throw new NotSupportedException(
                $"Layer '{name}' ({bn.GetType().Name}) keeps no running statistics, so it normalises with each batch's own in eval mode too; ONNX's BatchNormalization needs running statistics.");
        }
        string scale = bn.Weight is null ? _g.Constant(name + ".scale", Enumerable.Repeat(1f, bn.NumFeatures).ToArray(), bn.NumFeatures) : name + ".weight";
        string bias = bn.Bias is null ? _g.Constant(name + ".shift", new float[bn.NumFeatures], bn.NumFeatures) : name + ".bias";
        return _g.Node("BatchNormalization", [x, scale, bias, name + ".running_mean", name + ".running_var"], name, GraphBuilder.Float("epsilon", bn.Eps));
    }

    /// <summary>LayerNormalization (opset 17) over the trailing normalized_shape.</summary>
    private string LayerNorm(LayerNorm ln, string name, string x)
    {
        int size = ln.NormalizedShape.Aggregate(1, (a, b) => a * b);
        string scale = ln.Weight is null ? _g.Constant(name + ".scale", Enumerable.Repeat(1f, size).ToArray(), [.. ln.NormalizedShape]) : name + ".weight";
        string[] inputs = ln.Bias is null ? [x, scale] : [x, scale, name + ".bias"];
        return _g.Node("LayerNormalization", inputs, name, GraphBuilder.Int("axis", -ln.NormalizedShape.Count), GraphBuilder.Float("epsilon", ln.Eps));
    }

    /// <summary>
    /// Conv with explicit pads: the padding before as declared, after as the output size needs (PyTorch's "same" pads
    /// more after). A Conv1d (height 1 in its geometry) is a Conv with one spatial axis.
    /// </summary>
    private string Conv(ConvNd conv, string name, string x, bool oneD)
    {
        Conv2dGeometry g = conv.Geometry;
        long bottom = After(g.InHeight, g.OutHeight, g.KernelH, g.StrideH, g.DilationH, g.PadTop), right = After(g.InWidth, g.OutWidth, g.KernelW, g.StrideW, g.DilationW, g.PadLeft);
        string[] inputs = conv.Bias is null ? [x, name + ".weight"] : [x, name + ".weight", name + ".bias"];
        return _g.Node("Conv", inputs, name,
            Axes("kernel_shape", oneD, g.KernelH, g.KernelW), Axes("strides", oneD, g.StrideH, g.StrideW),
            Pads(oneD, g.PadTop, g.PadLeft, bottom, right), Axes("dilations", oneD, g.DilationH, g.DilationW),
            GraphBuilder.Int("group", g.Groups));
    }

    /// <summary>MaxPool without ceil mode: PyTorch's output size is reached by padding after as far as its last window needs (padding is -infinity either way).</summary>
    private string MaxPool(Pool2dGeometry g, string name, string x, bool oneD)
    {
        long bottom = After(g.InHeight, g.OutHeight, g.KernelH, g.StrideH, g.DilationH, g.PadTop), right = After(g.InWidth, g.OutWidth, g.KernelW, g.StrideW, g.DilationW, g.PadLeft);
        return _g.Node("MaxPool", [x], name,
            Axes("kernel_shape", oneD, g.KernelH, g.KernelW), Axes("strides", oneD, g.StrideH, g.StrideW),
            Pads(oneD, g.PadTop, g.PadLeft, bottom, right), Axes("dilations", oneD, g.DilationH, g.DilationW));
    }

    /// <summary>A per-axis attribute: (height, width), or the width alone for a 1-d layer.</summary>
    private static AttributeProto Axes(string name, bool oneD, long height, long width) =>
        oneD ? GraphBuilder.Ints(name, width) : GraphBuilder.Ints(name, height, width);

    /// <summary>ONNX's pads: the begins of every spatial axis, then the ends.</summary>
    private static AttributeProto Pads(bool oneD, long top, long left, long bottom, long right) =>
        oneD ? GraphBuilder.Ints("pads", left, right) : GraphBuilder.Ints("pads", top, left, bottom, right);

    /// <summary>
    /// AveragePool with PyTorch's divisors. PyTorch counts padding only as far as the declared padding (a ceil-mode
    /// window's overhang beyond it is never counted), and ONNX counts every pad or none: so declared padding that counts
    /// is made real with a Pad node, and AveragePool then excludes its own pads (the overhang). A divisor override is
    /// the sum (the average with every pad counted, times the window) over the override.
    /// </summary>
    private string AvgPool(Pool2dGeometry g, bool countIncludePad, int divisorOverride, string name, string x, bool oneD)
    {
        bool padsCount = countIncludePad || divisorOverride > 0;
        int top = g.PadTop, left = g.PadLeft, height = g.InHeight, width = g.InWidth;
        if (padsCount && (top > 0 || left > 0))
        {
            string pads = oneD ? _g.Constant("pads", [0L, 0, left, 0, 0, left], 6) : _g.Constant("pads", [0L, 0, top, left, 0, 0, top, left], 8);
            x = _g.Node("Pad", [x, pads], name + ".pad", new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("constant") });
            (height, width, top, left) = (height + 2 * top, width + 2 * left, 0, 0);
        }
        long bottom = After(height, g.OutHeight, g.KernelH, g.StrideH, 1, top), right = After(width, g.OutWidth, g.KernelW, g.StrideW, 1, left);
        string average = _g.Node("AveragePool", [x], divisorOverride > 0 ? name + ".average" : name,
            Axes("kernel_shape", oneD, g.KernelH, g.KernelW), Axes("strides", oneD, g.StrideH, g.StrideW),
            Pads(oneD, top, left, bottom, right), GraphBuilder.Int("count_include_pad", divisorOverride > 0 ? 1 : 0));
        if (divisorOverride <= 0) return average;
        return _g.Node("Mul", [average, _g.Constant("window_over_divisor", [(float)(g.KernelH * g.KernelW) / divisorOverride])], name);
    }

    /// <summary>
    /// Global pooling for a 1 x 1 (or, 1-d, length 1) output; a plain pooling where the bins are equal (input divisible
    /// by output). <paramref name="shape"/> is [C, H, W], or [C, L] for a 1-d pooling (<paramref name="outH"/> then 1).
    /// </summary>
    private string Adaptive(string name, string x, int[] shape, int outH, int outW, bool max)
    {
        bool oneD = shape.Length == 2;
        int height = oneD ? 1 : shape[1], width = shape[^1];
        if (outH == 1 && outW == 1) return _g.Node(max ? "GlobalMaxPool" : "GlobalAveragePool", [x], name);
        if (height % outH != 0 || width % outW != 0)
        {
            string kind = $"Adaptive{(max ? "Max" : "Avg")}Pool{(oneD ? "1d" : "2d")}";
            throw new NotSupportedException(oneD
                ? $"Layer '{name}' ({kind}) maps length {width} to {outW}: bins of unequal sizes have no single ONNX pooling; exportable are output 1 and sizes that divide the input."
                : $"Layer '{name}' ({kind}) maps {height} x {width} to {outH} x {outW}: bins of unequal sizes have no single ONNX pooling; exportable are 1 x 1 outputs and sizes that divide the input.");
        }
        int kh = height / outH, kw = width / outW;
        return _g.Node(max ? "MaxPool" : "AveragePool", [x], name, Axes("kernel_shape", oneD, kh, kw), Axes("strides", oneD, kh, kw));
    }

    /// <summary>The padding after the input that gives exactly <paramref name="output"/> positions with ONNX's floor rule (at least 0).</summary>
    private static long After(int input, int output, int kernel, int stride, int dilation, int before) =>
        Math.Max(0, (long)(output - 1) * stride + (long)dilation * (kernel - 1) + 1 - input - before);
}
