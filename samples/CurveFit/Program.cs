using System;
using System.Diagnostics;
using System.Globalization;
using StaticNet;

// Fits f(x, y) = sin(2x) cos(y) on [-1, 1]^2 with a 2-16-16-1 tanh network and Adam, printing the loss as it falls.
const int Points = 1024, BatchSize = 32, Epochs = 60;
var random = new Random(7);
var features = new float[Points * 2];
var targets = new float[Points];
for (int i = 0; i < Points; i++)
{
    float x = (float)(random.NextDouble() * 2 - 1), y = (float)(random.NextDouble() * 2 - 1);
    features[2 * i] = x;
    features[2 * i + 1] = y;
    targets[i] = MathF.Sin(2 * x) * MathF.Cos(y);
}

var net = new CurveNet(BatchSize, seed: 1);
var loader = new DataLoader<float>(new Dataset<float>(features, targets, 2), BatchSize, shuffle: true, seed: 1);
var optimizer = new Adam(net.Parameters(), lr: 0.01f);
var clock = Stopwatch.StartNew();
Trainer.Fit(net, loader, null, new MSELoss(), optimizer, Epochs, onEpoch: report =>
{
    if (report.Epoch == 1 || report.Epoch % 10 == 0)
    {
        Console.WriteLine($"epoch {report.Epoch,3}: mean squared error {report.Train.Loss.ToString("0.000000", CultureInfo.InvariantCulture)}");
    }
});
Console.WriteLine($"{Epochs * loader.BatchCount} Adam steps in {clock.Elapsed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms");

var prediction = new float[1];
net.Eval();
net.Forward([0.5f, -0.25f], prediction);
Console.WriteLine($"f(0.5, -0.25) = {(MathF.Sin(1) * MathF.Cos(-0.25f)).ToString("0.0000", CultureInfo.InvariantCulture)}, " +
                  $"the network says {prediction[0].ToString("0.0000", CultureInfo.InvariantCulture)}");

[Network(2)]
[Linear(16)]
[Tanh]
[Linear(16)]
[Tanh]
[Linear(1)]
internal partial class CurveNet;
