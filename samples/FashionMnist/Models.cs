using StaticNet;

namespace FashionMnist;

/// <summary>d2l's MLP: one hidden layer of 256 ReLU units.</summary>
[Network(1, 28, 28)]
[Flatten]
[Linear(256)]
[ReLU]
[Linear(10)]
public partial class Mlp;

/// <summary>d2l's softmax regression: one Linear layer on the flattened image.</summary>
[Network(1, 28, 28)]
[Flatten]
[Linear(10)]
public partial class SoftmaxRegression;

/// <summary>A deeper MLP with dropout after each hidden layer.</summary>
[Network(1, 28, 28)]
[Flatten]
[Linear(512)]
[ReLU]
[Dropout(0.2)]
[Linear(256)]
[ReLU]
[Dropout(0.2)]
[Linear(10)]
public partial class DeepMlp;
