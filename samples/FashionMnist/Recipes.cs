using StaticNet;

namespace FashionMnist;

/// <summary>Each <c>--model</c>'s network, initialised as its d2l recipe does.</summary>
public static class Recipes
{
    /// <summary>
    /// The network for <paramref name="model"/> (the MLP for any name not listed), for batches of up to
    /// <paramref name="batchSize"/>: d2l's N(0, 0.01^2) weights and zero biases for the MLPs; for both LeNets the
    /// Xavier-uniform weights of d2l's train_ch6, which trains them; PyTorch's default initialisation for the ResNet.
    /// </summary>
    public static Network Create(string model, int batchSize, ulong seed)
    {
        Network net = model switch
        {
            "softmax" => new SoftmaxRegression(batchSize, seed),
            "deep" => new DeepMlp(batchSize, seed),
            "lenet" => new LeNet(batchSize, seed),
            "lenet-bn" => new LeNetBatchNorm(batchSize, seed),
            "resnet" => new ResNet(batchSize, seed),
            _ => new Mlp(batchSize, seed),
        };
        var init = new RandomGenerator(seed);
        if (model is "lenet" or "lenet-bn")
        {
            net.Apply(m =>
            {
                if (m is Linear l) Init.XavierUniform(l.Weight, generator: init);
                if (m is Conv2d c) Init.XavierUniform(c.Weight, generator: init);
            });
        }
        else if (model != "resnet")
        {
            net.Apply(m =>
            {
                if (m is Linear l)
                {
                    Init.Normal(l.Weight, 0, 0.01f, init);
                    if (l.Bias is not null) Init.Zeros(l.Bias);
                }
            });
        }
        return net;
    }
}
