using System.IO;
using System.Linq;
using StaticNet.Tests.Networks;
using StaticNet.Tests.Reference;
using Xunit;

namespace StaticNet.Tests;

public class SafetensorsTests
{
    [Fact]
    public void Save_writes_every_parameter_under_its_state_dict_name_and_shape()
    {
        var net = new FashionMlp(1, 3);
        string path = Path.Combine(Directory.CreateTempSubdirectory("safetensors").FullName, "mlp.safetensors");
        try
        {
            Safetensors.Save(net, path);
            var file = new Fixture(path);
            Assert.Equal(["1.bias", "1.weight", "head.bias", "head.weight"], file.Names.Order());
            foreach ((string name, Parameter p) in net.NamedParameters())
            {
                Assert.Equal(p.Shape, file.Shape(name));
                Assert.Equal(p.Data.ToArray(), file.Floats(name));
            }
            // Overwriting goes through a temporary file and leaves no other file behind.
            Safetensors.Save(net, path);
            Assert.Equal(["mlp.safetensors"], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
            Assert.Equal(0, (new FileInfo(path).Length - 8) % 4);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
