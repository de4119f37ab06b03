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
