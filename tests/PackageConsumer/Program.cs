using System;
using System.Linq;
using StaticNet;

// A user of the NuGet package: the generator must run from the package and the runtime must train the network.
var net = new Consumer.Xor(4, seed: 1);
float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
int[] y = [0, 1, 1, 0];
var loader = new DataLoader<int>(new Dataset<int>(x, y, 2), 4);
var reports = Trainer.Fit(net, loader, loader, new CrossEntropyLoss(), new Adam(net.Parameters(), lr: 0.05f), epochs: 300);
Console.WriteLine($"parameters: {string.Join(", ", net.NamedParameters().Select(p => p.Name))}");
Console.WriteLine($"xor accuracy: {reports[^1].Test!.Accuracy}");
// The StaticNet.Onnx package: export, and the weights back into a fresh network.
byte[] model = Onnx.ToBytes(net);
string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"xor-{Guid.NewGuid():N}.onnx");
System.IO.File.WriteAllBytes(path, model);
var copy = new Consumer.Xor(4, seed: 2);
bool loaded = Onnx.LoadWeights(copy, path).IsExactMatch && copy.ParameterArena.SequenceEqual(net.ParameterArena);
System.IO.File.Delete(path);
Console.WriteLine($"onnx: {model.Length} bytes, weights loaded back: {loaded}");
return reports[^1].Test!.Accuracy == 1.0 && Consumer.Xor.InputSize == 2 && loaded ? 0 : 1;

namespace Consumer
{
    [Network(2)]
    [Linear(8)]
    [Tanh]
    [Linear(2, Name = "head")]
    public partial class Xor;
}
