using StaticNet.Simd;

namespace StaticNet;

/// <summary>The passes of a convolution.</summary>
internal enum ConvPass { Forward, InputGradient, WeightGradient }

/// <summary>
/// What the convolution jobs (the patch-matrix one and the depthwise one) share: the pass, the operands and the split.
/// The caller pins the operands and waits for every part, so the pointers stay valid for as long as the workers use them.
/// </summary>
internal abstract unsafe class ConvPassJob : IPartitionedJob
{
    protected ConvPass _pass;
    protected float* _destination, _source, _weight, _bias, _input;
    protected int _batch, _parts, _biasLength;
    protected Conv2dGeometry _geometry;
    protected bool _relu;

    /// <summary>Binds the operands and runs the job in <paramref name="parts"/> parts (at least one).</summary>
    protected void Run(ConvPass pass, float* destination, float* source, float* weight, float* bias, int biasLength, float* input, int batch,
        in Conv2dGeometry geometry, bool relu, int parts)
    {
        _pass = pass;
        _destination = destination;
        _source = source;
        _weight = weight;
        _bias = bias;
        _input = input;
        // Split across threads where that measured faster for this layer on this machine (SplitCalibration).
        SplitCalibration.Trial trial = SplitCalibration.Begin(SplitCalibration.Convolution, (long)batch * 16 + (int)pass * 4 + (this is DepthwiseConv ? 2 : 0) + Variant,
            geometry.GetHashCode(), ((long)geometry.InputSize << 32) | (uint)geometry.OutputSize, parts);
        (_biasLength, _batch, _geometry, _relu, _parts) = (biasLength, batch, geometry, relu, trial.Parts);
        WorkerPool.Run(this, _parts);
        trial.End();
    }

    /// <summary>0 or 1: a variant of the pass that costs differently (its own entry in the split calibration).</summary>
    protected virtual int Variant => 0;

    public abstract void Execute(int part);
}
