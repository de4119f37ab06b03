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
