namespace StaticNet.Generator.Model;

/// <summary>The layer kinds the generator knows, one per layer attribute.</summary>
internal enum LayerKind
{
    Flatten,
    Linear,
    ReLU,
    LeakyReLU,
    Sigmoid,
    Tanh,
    GELU,
    Softmax,
    Dropout,
    Identity,
    Block,
    Residual,
}
