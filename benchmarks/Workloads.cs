using System;
using System.Linq;

namespace StaticNet.Benchmarks;

/// <summary>
/// The workloads measured by both the BenchmarkDotNet suite and the side-by-side comparison with PyTorch
/// (benchmarks/compare.py runs the same shapes, batch sizes and optimizers there). Data are synthetic, with
/// Fashion-MNIST's sizes: 60,000 samples of 1 x 28 x 28 floats in [0, 1) with labels 0..9.
/// </summary>
public sealed class Workloads
{
    public const int Samples = 60_000;
    public const int BatchSize = 256;
    public const int TinyBatch = 32;

    /// <summary>A few samples at once: the batch of the small-batch inference workload.</summary>
    public const int SmallBatch = 16;

    /// <summary>The small ResNet's epoch is timed on this many samples (40 batches): a full epoch takes PyTorch a minute or more on one thread.</summary>
    public const int ResNetSamples = 10_240;

    private readonly DataLoader<int> _train, _resnetTrain;
    private readonly Mlp _mlp = new(BatchSize, 1);
    private readonly SoftmaxRegression _softmax = new(BatchSize, 1);
    private readonly Tiny _tiny = new(TinyBatch, 1);
    private readonly LeNet _lenet = new(BatchSize, 1);
    private readonly FashionMnist.ResNet _resnet = new(BatchSize, 1);
    private readonly SGD _mlpSgd, _softmaxSgd, _lenetSgd, _resnetSgd;
    private readonly Adam _tinyAdam;
    private readonly CrossEntropyLoss _crossEntropy = new();
    private readonly MSELoss _mse = new();
    private readonly float[] _one, _oneOut, _small, _smallOut, _batch, _batchOut, _lenetOneOut, _lenetBatchOut;
    private readonly float[] _tinyX, _tinyY, _tinyOut, _tinyGrad;

    public Workloads()
    {
        var random = new Random(1);
        float[] features = new float[Samples * 784];
        for (int i = 0; i < features.Length; i++) features[i] = (float)random.NextDouble();
        int[] labels = Enumerable.Range(0, Samples).Select(_ => random.Next(10)).ToArray();
        _train = new DataLoader<int>(new Dataset<int>(features, labels, 784), BatchSize, shuffle: true, seed: 1);
        _resnetTrain = new DataLoader<int>(new Dataset<int>(features.AsSpan(0, ResNetSamples * 784).ToArray(), labels[..ResNetSamples], 784), BatchSize, shuffle: true, seed: 1);
        _mlpSgd = new SGD(_mlp.Parameters(), 0.1f);
        _softmaxSgd = new SGD(_softmax.Parameters(), 0.1f);
        _lenetSgd = new SGD(_lenet.Parameters(), 0.1f);
        _resnetSgd = new SGD(_resnet.Parameters(), 0.05f, momentum: 0.9f);
        _tinyAdam = new Adam(_tiny.Parameters(), 1e-3f);
        _one = features.AsSpan(0, 784).ToArray();
        _oneOut = new float[10];
        _small = features.AsSpan(0, SmallBatch * 784).ToArray();
        _smallOut = new float[SmallBatch * 10];
        _batch = features.AsSpan(0, BatchSize * 784).ToArray();
        _batchOut = new float[BatchSize * 10];
        _lenetOneOut = new float[10];
        _lenetBatchOut = new float[BatchSize * 10];
        _tinyX = Enumerable.Range(0, TinyBatch * 2).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        _tinyY = Enumerable.Range(0, TinyBatch).Select(i => MathF.Sin(_tinyX[2 * i]) * MathF.Cos(_tinyX[2 * i + 1])).ToArray();
        _tinyOut = new float[TinyBatch];
        _tinyGrad = new float[TinyBatch];
    }

    /// <summary>One epoch of d2l's MLP with SGD (lr 0.1), batch 256, shuffled.</summary>
    public EpochResult MlpEpoch() => Trainer.TrainEpoch(_mlp, _train, _crossEntropy, _mlpSgd);

    /// <summary>One epoch of softmax regression with SGD (lr 0.1), batch 256, shuffled.</summary>
    public EpochResult SoftmaxEpoch() => Trainer.TrainEpoch(_softmax, _train, _crossEntropy, _softmaxSgd);

    /// <summary>One epoch of d2l's LeNet with SGD (lr 0.1), batch 256, shuffled.</summary>
    public EpochResult LeNetEpoch() => Trainer.TrainEpoch(_lenet, _train, _crossEntropy, _lenetSgd);

    /// <summary>The small ResNet (the Fashion-MNIST sample's) on <see cref="ResNetSamples"/> samples with SGD (lr 0.05, momentum 0.9), batch 256, shuffled.</summary>
    public EpochResult ResNetEpoch() => Trainer.TrainEpoch(_resnet, _resnetTrain, _crossEntropy, _resnetSgd);

    /// <summary>Puts the MLP and LeNet in evaluation mode for the inference workloads (the epochs put them back in training mode).</summary>
    public void EvalMode(bool prepack = true)
    {
        _mlp.Eval();
        _lenet.Eval();
        // As ONNX Runtime prepacks a session's constant weights: the inference workloads read packed copies.
        _mlp.PrepackWeights(prepack);
        _lenet.PrepackWeights(prepack);
    }

    /// <summary>LeNet inference on one sample.</summary>
    public void LeNetInferenceOne() => _lenet.Infer(_one, _lenetOneOut);

    /// <summary>LeNet inference on a batch of 256.</summary>
    public void LeNetInferenceBatch() => _lenet.Infer(_batch, _lenetBatchOut);

    /// <summary>Inference on one sample.</summary>
    public void MlpInferenceOne() => _mlp.Infer(_one, _oneOut);

    /// <summary>Inference on 16 samples at once.</summary>
    public void MlpInferenceSmall() => _mlp.Infer(_small, _smallOut);

    /// <summary>Inference on a batch of 256.</summary>
    public void MlpInferenceBatch() => _mlp.Infer(_batch, _batchOut);

    /// <summary>One Adam step of the tiny net at batch 32: forward, MSE, zero_grad, backward, step.</summary>
    public float TinyAdamStep()
    {
        _tiny.Forward(_tinyX, _tinyOut);
        float loss = _mse.Forward(_tinyOut, _tinyY, _tinyGrad);
        _tinyAdam.ZeroGrad();
        _tiny.Backward(_tinyGrad);
        _tinyAdam.Step();
        return loss;
    }

    /// <summary>Useful floating-point operations of each workload (a multiply-add counts 2), as compare.py counts them.</summary>
    public static class Flops
    {
        // Per sample: forward 2 in out per Linear; backward the weight gradient for each and the input gradient for all but the first.
        public const double MlpEpoch = Samples * (3.0 * 2 * 784 * 256 + 3.0 * 2 * 256 * 10 - 2.0 * 784 * 256);
        public const double SoftmaxEpoch = Samples * 2.0 * (2 * 784 * 10);
        public const double MlpInferenceOne = 2.0 * (784 * 256 + 256 * 10);
        public const double MlpInferenceSmall = SmallBatch * MlpInferenceOne;
        public const double MlpInferenceBatch = BatchSize * MlpInferenceOne;
        public const double TinyAdamStep = TinyBatch * (3.0 * 2 * (2 * 16 + 16 * 16 + 16) - 2.0 * 2 * 16);

        // LeNet's multiply-adds per sample: conv1 6 x 25 x 784, conv2 16 x 150 x 100, then 400 x 120, 120 x 84, 84 x 10.
        private const double LeNetForward = 6 * 25 * 784 + 16 * 150 * 100 + 400 * 120 + 120 * 84 + 84 * 10;

        // Training: forward, every weight gradient, and every input gradient but the first convolution's.
        public const double LeNetEpoch = Samples * 2.0 * (3 * LeNetForward - 6 * 25 * 784);
        public const double LeNetInferenceOne = 2.0 * LeNetForward;
        public const double LeNetInferenceBatch = BatchSize * LeNetInferenceOne;

        // The ResNet's convolutions' multiply-adds per sample (BatchNorm, ReLU and the additions not counted): the stem
        // 16 x 9 x 784, two 16-16 3 x 3 at 28 x 28, 16-32 3 x 3 stride 2 and 32-32 3 x 3 at 14 x 14 with a 16-32 1 x 1
        // projection, the same from 32 to 64 at 7 x 7, then Linear 64-10.
        private const double ResNetForward = 16 * 9 * 784 + 2 * 16 * 144 * 784 + 32 * 144 * 196 + 32 * 288 * 196 + 32 * 16 * 196
            + 64 * 288 * 49 + 64 * 576 * 49 + 64 * 32 * 49 + 64 * 10;

        // Training: forward, every weight gradient, and every input gradient but the stem's.
        public const double ResNetEpoch = ResNetSamples * 2.0 * (3 * ResNetForward - 16 * 9 * 784);
    }
}
