using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The data API reads as C# (PascalCase, no XxxModule, no tuple conversions).</summary>
public sealed class CSharpNamesTests
{
    [Fact]
    public void Idx_and_Mnist_are_called_with_PascalCase_names()
    {
        using var temp = new TempDir();
        var path = temp["a-idx3-ubyte.gz"];
        Idx.Write(path, new IdxArray([2, 1, 3], [1, 2, 3, 4, 5, 6]));
        Assert.Equal([2, 1, 3], Idx.ReadHeader(path));
        var back = Idx.Read(path);
        Assert.Equal([1, 2, 3, 4, 5, 6], back.Data);
        using (var fs = File.OpenRead(path)) Assert.Equal([2, 1, 3], Idx.ReadStream(path, fs).Dims);

        Assert.Equal(4, Mnist.FileNames.Length);
        Assert.All(Mnist.FileNames, n => Assert.True(Mnist.Sha256.ContainsKey(n)));
        Assert.Throws<DataFormatException>(() => Mnist.Verify(Mnist.FileNames[0], [1, 2, 3]));
        var (train, test) = Mnist.LoadBundled();
        Assert.Equal(10, train.Take(10).Count);
        Assert.True(test.Count > 0);
    }
}
