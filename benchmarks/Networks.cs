using StaticNet;

namespace StaticNet.Benchmarks;

/// <summary>d2l's MLP, as in the README and the Fashion-MNIST sample.</summary>
[Network(1, 28, 28)]
[Flatten]
[Linear(256)]
[ReLU]
[Linear(10)]
public partial class Mlp;

/// <summary>Softmax regression.</summary>
[Network(1, 28, 28)]
[Flatten]
[Linear(10)]
public partial class SoftmaxRegression;

/// <summary>The tiny 2-16-16-1 tanh network.</summary>
[Network(2)]
[Linear(16)]
[Tanh]
[Linear(16)]
[Tanh]
[Linear(1)]
public partial class Tiny;

/// <summary>d2l's LeNet, as in the Fashion-MNIST sample.</summary>
[Network(1, 28, 28)]
[Conv2d(6, KernelSize = 5, Padding = 2)]
[Sigmoid]
[AvgPool2d(2, Stride = 2)]
[Conv2d(16, KernelSize = 5)]
[Sigmoid]
[AvgPool2d(2, Stride = 2)]
[Flatten]
[Linear(120)]
[Sigmoid]
[Linear(84)]
[Sigmoid]
[Linear(10)]
public partial class LeNet;

/// <summary>A residual block that keeps the shape: two 3 x 3 convolutions with BatchNorm (d2l's Residual without 1 x 1 conv).</summary>
[Network(16, 28, 28)]
[Conv2d(16, KernelSize = 3, Padding = 1, Bias = false)]
[BatchNorm2d]
[ReLU]
[Conv2d(16, KernelSize = 3, Padding = 1, Bias = false)]
[BatchNorm2d]
public partial class ResBlock16;

/// <summary>A residual block that halves the plane and doubles the channels (with <see cref="Projection32"/> on the skip path).</summary>
[Network(16, 28, 28)]
[Conv2d(32, KernelSize = 3, Stride = 2, Padding = 1, Bias = false)]
[BatchNorm2d]
[ReLU]
[Conv2d(32, KernelSize = 3, Padding = 1, Bias = false)]
[BatchNorm2d]
public partial class DownBlock32;

/// <summary>ResNet's projection shortcut: a 1 x 1 convolution with stride 2, and BatchNorm.</summary>
[Network(16, 28, 28)]
[Conv2d(32, KernelSize = 1, Stride = 2, Bias = false)]
[BatchNorm2d]
public partial class Projection32;

/// <summary>The second downsampling block, 32 to 64 channels at 7 x 7.</summary>
[Network(32, 14, 14)]
[Conv2d(64, KernelSize = 3, Stride = 2, Padding = 1, Bias = false)]
[BatchNorm2d]
[ReLU]
[Conv2d(64, KernelSize = 3, Padding = 1, Bias = false)]
[BatchNorm2d]
public partial class DownBlock64;

/// <summary>Its projection shortcut.</summary>
[Network(32, 14, 14)]
[Conv2d(64, KernelSize = 1, Stride = 2, Bias = false)]
[BatchNorm2d]
public partial class Projection64;

/// <summary>
/// The Fashion-MNIST sample's small ResNet for 28 x 28 inputs: a 3 x 3 stem, one residual stage per plane size (28, 14, 7; 16, 32, 64 channels)
/// with projection shortcuts where the shape changes, global average pooling and a Linear classifier; BatchNorm throughout.
/// </summary>
[Network(1, 28, 28)]
[Conv2d(16, KernelSize = 3, Padding = 1, Bias = false)]
[BatchNorm2d]
[ReLU]
[Residual(typeof(ResBlock16))]
[ReLU]
[Residual(typeof(DownBlock32), Shortcut = typeof(Projection32))]
[ReLU]
[Residual(typeof(DownBlock64), Shortcut = typeof(Projection64))]
[ReLU]
[AdaptiveAvgPool2d(1)]
[Flatten]
[Linear(10)]
public partial class ResNet;
