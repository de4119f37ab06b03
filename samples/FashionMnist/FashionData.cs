using System;
using System.IO;
using System.Reflection;
using StaticNet;

namespace FashionMnist;

/// <summary>Where the main job's data comes from: a folder of the four IDX files, Debian's package, or the embedded subset.</summary>
public static class FashionData
{
    /// <summary>
    /// The training and test sets and a line saying where they came from. <paramref name="data"/>: a folder, "embedded",
    /// or null (Debian's /usr/share/datasets/fashion-mnist if present, else the embedded subset). A folder without the
    /// four files is refused naming every one it lacks.
    /// </summary>
    public static (Dataset<int> Train, Dataset<int> Test, string Source) Load(string? data)
    {
        const string debian = "/usr/share/datasets/fashion-mnist";
        string? directory = data switch
        {
            "embedded" => null,
            null => Directory.Exists(debian) && File.Exists(Find(debian, "train-images-idx3-ubyte")) ? debian : null,
            _ => data,
        };
        if (directory is null)
        {
            Dataset<int> Embedded(string images, string labels)
            {
                Assembly assembly = typeof(Mlp).Assembly;
                using Stream imageStream = assembly.GetManifestResourceStream(images)!, labelStream = assembly.GetManifestResourceStream(labels)!;
                return Idx.ToDataset(Idx.Read(imageStream, images), Idx.Read(labelStream, labels), images, labels);
            }
            Dataset<int> embeddedTrain = Embedded("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
            Dataset<int> embeddedTest = Embedded("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
            return (embeddedTrain, embeddedTest,
                $"Fashion-MNIST, the embedded subset ({embeddedTrain.Count} training and {embeddedTest.Count} test images); " +
                $"install Debian's dataset-fashion-mnist or pass --data DIR for the full set");
        }
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"no folder '{directory}'");
        string[] names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
        string[] missing = Array.FindAll(names, name => !File.Exists(Find(directory, name)));
        if (missing.Length > 0)
        {
            throw new FileNotFoundException($"'{directory}' lacks {string.Join(", ", Array.ConvertAll(missing, name => name + "[.gz]"))}; " +
                "--data needs a folder with the four Fashion-MNIST IDX files, each plain or gzipped (as Debian's dataset-fashion-mnist installs them " +
                "in /usr/share/datasets/fashion-mnist), or 'embedded' for the built-in subset.");
        }
        Dataset<int> fullTrain = Idx.LoadDataset(Find(directory, "train-images-idx3-ubyte"), Find(directory, "train-labels-idx1-ubyte"));
        Dataset<int> fullTest = Idx.LoadDataset(Find(directory, "t10k-images-idx3-ubyte"), Find(directory, "t10k-labels-idx1-ubyte"));
        return (fullTrain, fullTest, $"Fashion-MNIST from {directory} ({fullTrain.Count} training and {fullTest.Count} test images)");
    }

    /// <summary>The IDX file as shipped (.gz) or unpacked.</summary>
    private static string Find(string directory, string name)
    {
        string packed = Path.Combine(directory, name + ".gz");
        return File.Exists(packed) ? packed : Path.Combine(directory, name);
    }
}

/// <summary>Words for counts in the main job's output.</summary>
public static class Text
{
    /// <summary>"1 epoch", "2 epochs".</summary>
    public static string Count(long n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";
}
