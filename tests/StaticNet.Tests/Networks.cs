using System;
using StaticNet;

namespace StaticNet.Tests.Networks;

// The networks the numerical tests run: every layer kind, input ranks 1 to 3, with and without bias.

[Network(1, 28, 28)]
[Flatten]
[Linear(256)]
[ReLU]
[Dropout(0.2)]
[Linear(256, 10, Name = "head")]
public partial class FashionMlp;

[Network(5)]
[Linear(7)]
[Tanh]
[Linear(3, Bias = false)]
[Sigmoid]
public partial class TanhSigmoidNet;

[Network(3, 4)]
[Linear(6)]
[LeakyReLU(0.1)]
[Linear(6, 5)]
[SiLU]
[GELU]
[Flatten]
[Linear(2)]
public partial class Rank2Net;

[Network(2, 3, 4)]
[Flatten(2)]
[Linear(12, 8, Bias = false)]
[GELU(Approximate = "tanh")]
[Softmax(1)]
public partial class Rank3Net;

[Network(20)]
[Identity]
[Linear(17)]
[Dropout(0.5)]
[Softmax]
public partial class SoftmaxHead;

[Network(4)]
[ReLU]
[Linear(3)]
public partial class ActivationFirst;

[Network(3)]
[Sigmoid]
public partial class NoParameters;

public static partial class Outer
{
    [Network(2)]
    [Linear(2)]
    public partial class Nested;
}

[Network(1000)]
[Dropout(0.3)]
public partial class DropoutOnly;

// The PyTorch networks of tests/fixtures/make_fixtures.py, declared the same way, so their state_dict names match.

[Network(6)] [Linear(8)] [ReLU] [Linear(4)] public partial class MlpRelu;
[Network(6)] [Linear(8)] [Sigmoid] [Linear(4)] public partial class MlpSigmoid;
[Network(6)] [Linear(8)] [Tanh] [Linear(4)] public partial class MlpTanh;
[Network(6)] [Linear(8)] [GELU] [Linear(4)] public partial class MlpGelu;
[Network(6)] [Linear(8)] [GELU(Approximate = "tanh")] [Linear(4)] public partial class MlpGeluTanh;
[Network(6)] [Linear(8)] [LeakyReLU(0.1)] [Linear(4)] public partial class MlpLeaky;
[Network(6)] [Linear(8)] [SiLU] [Linear(4)] public partial class MlpSilu;
[Network(6)] [Linear(8)] [ReLU] [Dropout(0.5)] [Linear(4)] public partial class MlpDropout;
[Network(1, 4, 4)] [Flatten] [Linear(16, 4)] public partial class SoftmaxRegression;

// Training tests.

[Network(2)] [Linear(8)] [Tanh] [Linear(2)] public partial class XorNet;
[Network(2)] [Linear(4)] [Tanh] [Linear(2)] public partial class SymmetryNet;
[Network(1, 28, 28)] [Flatten] [Linear(784, 10)] public partial class FashionSoftmax;
[Network(1, 28, 28)] [Flatten] [Linear(256)] [ReLU] [Linear(10)] public partial class FashionMlpPlain;
[Network(3)] [Linear(1)] public partial class LinearRegression;

// tests/fixtures/make_fixtures.py's interchange network: nn.Sequential(Flatten, Linear(16, 12), GELU, Linear(12, 8), Tanh, Linear(8, 3)).
[Network(1, 4, 4)] [Flatten] [Linear(12)] [GELU] [Linear(8)] [Tanh] [Linear(3)] public partial class Interchange;

// The same layers but a different head, for mismatch reports.
[Network(1, 4, 4)] [Flatten] [Linear(12)] [GELU] [Linear(8)] [Tanh] [Linear(4)] [ReLU] [Linear(3, Name = "extra")] public partial class InterchangeVariant;

[Network(6)] [Linear(16)] [ReLU] [Dropout(0.3)] [Linear(3)] public partial class DropoutMlp;

// A module of one's own holding a network and a ModuleList of networks, like make_fixtures.py's Ensemble.
[Network(1, 4, 4)] [Flatten] [Linear(8)] [ReLU] public partial class EnsembleBody;
[Network(8)] [Linear(3)] public partial class HeadA;
[Network(8)] [Linear(4)] [Tanh] public partial class HeadB;

[Module]
public partial class Ensemble
{
    private readonly EnsembleBody _body;

    public Ensemble(int maxBatch)
    {
        _body = new EnsembleBody(maxBatch, seed: 1);
        Heads = new ModuleList<Network>([new HeadA(maxBatch, seed: 2), new HeadB(maxBatch, seed: 3)]);
    }

    public ModuleList<Network> Heads { get; }

    public int NotAModule { get; } = 3;

    /// <summary>The forward this class writes itself: the body, then every head on the body's features.</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> headA, Span<float> headB)
    {
        int batch = input.Length / EnsembleBody.InputSize;
        var features = new float[batch * EnsembleBody.OutputSize];
        _body.Forward(input, features);
        Heads[0].Forward(features, headA);
        Heads[1].Forward(features, headB);
    }
}

// Nested blocks and residual connections.
[Network(6)] [Linear(5)] [Tanh] public partial class Encoder;
[Network(5)] [Linear(5)] [GELU] [Dropout(0.1)] [Linear(5)] public partial class SquareBlock;
[Network(6)] [Block(typeof(Encoder))] [ReLU] [Residual(typeof(SquareBlock))] [Linear(2)] public partial class Composite;
[Network(4)] [Identity] public partial class ViewsOnly;
[Network(4)] [Residual(typeof(ViewsOnly))] [Linear(3)] public partial class ViewResidual;
[Network(2, 3)] [Linear(4)] [Sigmoid] public partial class Rank2Block;
[Network(2, 3)] [Block(typeof(Rank2Block))] [Flatten] [Linear(2)] public partial class Rank2Outer;
[Network(6)] [Block(typeof(Composite), Name = "inner")] [Residual(typeof(Square2))] [Softmax] public partial class DeepComposite;

// Every place a Linear and a ReLU run as one kernel (the generator fuses adjacent pairs): a ReLU before the first
// parameter, a ReLU between two Linears (fused both ways), a Linear and ReLU ending a residual block, and a ReLU reading
// a residual sum before a Linear.
[Network(4)] [Linear(4)] [ReLU] public partial class ReluBlock;
[Network(6)] [ReLU] [Linear(8)] [ReLU] [Linear(4)] [Residual(typeof(ReluBlock))] [ReLU] [Linear(2)] public partial class FusedRelus;

// Composite, and so its own blocks, away from the start of the arena: blocks two deep must add up their offsets.
[Network(6)] [Linear(6)] [Block(typeof(Composite))] public partial class ShiftedComposite;
[Network(2)] [Linear(2)] [LeakyReLU(0.2)] public partial class Square2;

// tests/fixtures/make_fixtures.py's normalization networks, declared the same way.
[Network(6)] [Linear(8)] [BatchNorm1d] [Sigmoid] [Linear(4)] public partial class BnMlp;
[Network(3, 5)] [BatchNorm1d(3, Momentum = null)] [Flatten] [Linear(15, 4)] public partial class Bn1dSeq;
[Network(2, 3, 4)] [BatchNorm2d(Eps = 1e-3, Momentum = 0.3)] [ReLU] [Flatten] [Linear(4)] public partial class Bn2d;
[Network(2, 3, 4)] [BatchNorm2d(Affine = false, TrackRunningStats = false)] [Flatten] [Linear(4)] public partial class Bn2dPlain;
[Network(6)] [Linear(8)] [LayerNorm(8)] [GELU] [Linear(4)] public partial class LnMlp;
[Network(3, 4)] [LayerNorm(3, 4, Eps = 1e-3)] [Flatten] [Linear(4)] public partial class Ln2;
[Network(6)] [Linear(8)] [LayerNorm(8, ElementwiseAffine = false)] [Linear(4)] public partial class LnPlain;
[Network(6)] [Linear(8)] [LayerNorm(8, Bias = false)] [Tanh] [Linear(4)] public partial class LnNoBias;

// Normalisation first (before any parameter), with no parameters of its own, inside a block and a residual.
[Network(4)] [BatchNorm1d(Affine = false)] [Linear(3)] public partial class BnFirst;
[Network(5)] [Linear(5)] [BatchNorm1d] [ReLU] public partial class BnBlock;
// A BatchNorm, a ReLU and a Linear: both backward pairs (BatchNorm + ReLU, ReLU + Linear) match; the second is fused.
[Network(6)] [Linear(8)] [BatchNorm1d] [ReLU] [Linear(4)] public partial class BnReluMlp;
[Network(5)] [LayerNorm(5)] [Residual(typeof(BnBlock))] [Block(typeof(BnBlock), Name = "again")] [Linear(2)] public partial class NormComposite;

// Convolutions and pooling: every argument that changes the computation, small enough for finite differences.
[Network(1, 8, 8)] [Conv2d(3, KernelSize = 3, Padding = 1)] [ReLU] [MaxPool2d(2)] [Conv2d(3, 4, KernelSize = 2, Bias = false)] [Tanh] [AvgPool2d(3, Stride = 1, Padding = 1)] [Flatten] [Linear(5)] public partial class SmallLeNet;
[Network(2, 7, 6)] [Conv2d(4, KernelSize = 3, Stride = 2, Padding = 1, Groups = 2)] [Sigmoid] [Conv2d(4, KernelSize = 2, Dilation = 2, Groups = 4)] [Flatten] [Linear(3)] public partial class StridedGroups;
[Network(2, 6, 5)] [Conv2d(3, KernelH = 4, KernelW = 2, Padding = "same")] [GELU] [MaxPool2d(3, Stride = 2, Padding = 1, CeilMode = true)] [Flatten] [Linear(2)] public partial class SamePadding;
[Network(3, 9, 8)] [Conv2d(2, KernelSize = 3, StrideH = 2, StrideW = 1, PaddingH = 0, PaddingW = 2, DilationW = 2)] [MaxPool2d(2, Stride = 1, Dilation = 2)] [AvgPool2d(2, CeilMode = true, CountIncludePad = false, Padding = 1)] [Flatten] [Linear(3)] public partial class Rectangular;
[Network(2, 7, 5)] [AdaptiveAvgPool2d(3, 2)] [Conv2d(3, KernelSize = 1)] [AdaptiveMaxPool2d(2)] [Flatten] [Linear(2)] public partial class Adaptive;
[Network(3, 5, 5)] [AvgPool2d(2, Stride = 1, DivisorOverride = 3)] [Conv2d(3, KernelSize = 3, Padding = 1, Groups = 3)] [ReLU] [Flatten] [Linear(2)] public partial class Depthwise;

// Conv1d and the 1-d poolings over [C, L] (run as height 1): "same" with an even kernel (the extra zero on the right),
// groups, dilation, stride, ceil mode, padding in both poolings, a fused BatchNorm1d fold and a Sigmoid + AvgPool1d pair.
[Network(2, 12)] [Conv1d(4, KernelSize = 3, Padding = 1)] [BatchNorm1d] [ReLU] [MaxPool1d(3, Stride = 2, Padding = 1, CeilMode = true)]
[Conv1d(4, 6, KernelSize = 4, Padding = "same", Groups = 2, Bias = false)] [Tanh] [AvgPool1d(2, Stride = 1, Padding = 1, CountIncludePad = false)]
[Conv1d(3, KernelSize = 2, Stride = 2, Dilation = 2)] [Flatten] [Linear(3)] public partial class Signal1d;
[Network(3, 10)] [MaxPool1d(2, Stride = 1, Dilation = 2)] [Conv1d(2, KernelSize = 1)] [Sigmoid] [AvgPool1d(2, Padding = 1)] [Flatten] [Linear(2)] public partial class Pool1dMix;
// Adaptive 1-d pooling: bins of unequal sizes (11 -> 4, 10 -> 3), and equal bins then global average pooling (ONNX-exportable).
[Network(2, 11)] [AdaptiveAvgPool1d(4)] [Conv1d(3, KernelSize = 2)] [AdaptiveMaxPool1d(2)] [Flatten] [Linear(2)] public partial class Adaptive1d;
[Network(3, 12)] [Conv1d(4, KernelSize = 3, Padding = 1)] [AdaptiveMaxPool1d(4)] [Tanh] [AdaptiveAvgPool1d(1)] [Flatten] [Linear(2)] public partial class GlobalPool1d;

// Residual blocks with a projection shortcut (ResNet's downsampling block, BatchNorm throughout) and an identity one.
[Network(2, 6, 6)] [Conv2d(4, KernelSize = 3, Stride = 2, Padding = 1, Bias = false)] [BatchNorm2d] [ReLU] [Conv2d(4, KernelSize = 3, Padding = 1, Bias = false)] [BatchNorm2d] public partial class DownBody;
[Network(2, 6, 6)] [Conv2d(4, KernelSize = 1, Stride = 2, Bias = false)] [BatchNorm2d] public partial class DownProjection;
[Network(4, 3, 3)] [Conv2d(4, KernelSize = 3, Padding = 1)] [ReLU] [Conv2d(4, KernelSize = 3, Padding = 1)] public partial class SameBody;
[Network(2, 6, 6)] [Residual(typeof(DownBody), Shortcut = typeof(DownProjection))] [ReLU] [Residual(typeof(SameBody))] [AdaptiveAvgPool2d(1)] [Flatten] [Linear(3)] public partial class TinyResNet;

// An identity residual and the ReLU after it (the sum and the ReLU fused), its block ending in a BatchNorm and a ReLU
// (fused too, masking the block's output gradient in place while the skip's copy must stay as it was).
[Network(3, 5, 5)] [Conv2d(3, KernelSize = 3, Padding = 1)] [BatchNorm2d] [ReLU] public partial class BnReluBody;
[Network(2, 5, 5)] [Conv2d(3, KernelSize = 3, Padding = 1)] [Residual(typeof(BnReluBody))] [ReLU] [Flatten] [Linear(2)] public partial class ResidualReluNet;

// Shortcuts whose first layer is a view, and a residual with a shortcut right at the input.
[Network(3)] [Linear(4)] [Tanh] public partial class Widen;
[Network(3)] [Identity] [Linear(4)] public partial class IdentityFirst;
[Network(3)] [Residual(typeof(Widen), Shortcut = typeof(IdentityFirst))] [Linear(2)] public partial class ShortcutViews;

// d2l's LeNet and batch-norm LeNet, as in the sample and make_fixtures.py.
[Network(1, 28, 28)] [Conv2d(6, KernelSize = 5, Padding = 2)] [Sigmoid] [AvgPool2d(2, Stride = 2)] [Conv2d(16, KernelSize = 5)] [Sigmoid] [AvgPool2d(2, Stride = 2)]
[Flatten] [Linear(120)] [Sigmoid] [Linear(84)] [Sigmoid] [Linear(10)] public partial class D2lLeNet;
[Network(1, 28, 28)] [Conv2d(6, KernelSize = 5)] [BatchNorm2d] [Sigmoid] [AvgPool2d(2, Stride = 2)] [Conv2d(16, KernelSize = 5)] [BatchNorm2d] [Sigmoid] [AvgPool2d(2, Stride = 2)]
[Flatten] [Linear(120)] [BatchNorm1d] [Sigmoid] [Linear(84)] [BatchNorm1d] [Sigmoid] [Linear(10)] public partial class D2lLeNetBatchNorm;

// Kernels 5 wide (the direct weight gradient): output rows wider than 16, and a channel block left with 2 of 3.
[Network(2, 7, 20)] [Conv2d(4, KernelH = 2, KernelW = 5, PaddingW = 2)] [Tanh] [Conv2d(5, KernelSize = 5, Padding = 2)] [AvgPool2d(2)] [Flatten] [Linear(3)] public partial class Kernel5;

// A Linear on an image without [Flatten]: valid (it acts on the last dimension, as in PyTorch), output [1, 4, 5].
[Network(1, 4, 3)] [Linear(5)] public partial class ForgotFlatten;

// p = 1: every element zeroed in training, as torch.nn.Dropout(1) does.
[Network(6)] [Dropout(1)] public partial class DropoutAll;

// Fine-tuning: the tests freeze the lower layers. The partial part shows the activation gradients, to check what backward skipped.
[Network(6)] [Linear(8)] [ReLU] [Linear(8)] [Tanh] [Linear(3)] public partial class FreezeNet
{
    public Span<float> ActivationGradsForTests => ActivationGrads;
}

[Network(2, 6, 6)] [Conv2d(3, KernelSize = 3)] [BatchNorm2d] [ReLU] [Flatten] [Linear(4)] public partial class FreezeConvNet;

[Network(4, 6, 6)] [Conv2d(4, 4, KernelSize = 3, Padding = 1)] [ReLU] public partial class ConvBody;
[Network(3, 6, 6)] [Conv2d(4, KernelSize = 3, Padding = 1)] [Residual(typeof(ConvBody))] [Flatten] [Linear(2)] public partial class ConvResidualNet;

// Prepacked weights (Network.PrepackWeights): in features off a multiple of 16 (the packed product from 8 rows up even
// without prepacking), and widths cut by the panels' edge (40 = 32 + 8; 48 = 32 + 16, the half-width kernel's).
[Network(100)] [Linear(40)] [ReLU] [Linear(48)] [Tanh] [Linear(3)] public partial class PrepackEdges;
