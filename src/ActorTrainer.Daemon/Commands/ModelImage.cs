namespace ActorTrainer.Daemon.Commands;

/// <summary>The rows × columns of the images a model's input stands for, and the checks of images against it
/// (`train`'s data, `evaluate`'s test set, `predict`'s IDX and PNG input): a product of rows and columns equal to the
/// model's values per sample is not enough (14×56 images hold 784 values too, but not a 28×28 digit).</summary>
public static class ModelImage
{
    /// <summary>The image size of a model input shape: its first two axes when it has two or more (e.g. [28, 28]); for
    /// a flat [n], side × side when n is a perfect square (MNIST's [784] is 28×28); null for any other flat [n], whose
    /// rows and columns the model cannot tell (then only rows · columns = n is checked).</summary>
    public static (int Rows, int Cols)? Of(IReadOnlyList<int> inputShape)
    {
        if (inputShape.Count >= 2) return (inputShape[0], inputShape[1]);
        if (inputShape.Count == 0) return null;
        var n = inputShape[0];
        var side = (int)Math.Round(Math.Sqrt(n));
        return side > 0 && (long)side * side == n ? (side, side) : null;
    }

    /// <summary>"[28, 28]": an input shape as the messages name it.</summary>
    public static string Show(IReadOnlyList<int> inputShape) => "[" + string.Join(", ", inputShape) + "]";

    /// <summary>Throws InvalidDataException "<paramref name="what"/> is RxC but the model takes R'xC' images" unless
    /// rows × cols is the image size of <paramref name="inputShape"/> (<see cref="Of"/>); for a flat shape that names no
    /// size, unless rows · cols is its number of values.</summary>
    public static void Check(string what, int rows, int cols, IReadOnlyList<int> inputShape)
    {
        if (Of(inputShape) is var (r, c))
        {
            if (rows != r || cols != c)
                throw new InvalidDataException($"{what} is {rows}x{cols} but the model takes {r}x{c} images (its input is {Show(inputShape)})");
        }
        else if ((long)rows * cols != inputShape.Aggregate(1L, (a, d) => a * d))
            throw new InvalidDataException($"{what} is {rows}x{cols} = {(long)rows * cols} values but the model takes {Show(inputShape)}");
    }

    /// <summary>Checks a PNG of width × height pixels for a model input (resized to it): its aspect ratio must be the
    /// model's to within a pixel (|width·R − height·C| ≤ max(R, C)), so a 280×280 drawing is resized to 28×28 but a
    /// 14×56 image is refused; a flat shape that names no square is refused. Returns the rows and columns.</summary>
    public static (int Rows, int Cols) CheckPng(string path, int width, int height, IReadOnlyList<int> inputShape)
    {
        if (Of(inputShape) is not var (r, c))
            throw new InvalidDataException($"--input '{path}': PNG input needs a model whose input names rows and columns, but the model takes {Show(inputShape)}");
        if (Math.Abs((long)width * r - (long)height * c) > Math.Max(r, c))
            throw new InvalidDataException($"--input '{path}' is {width}x{height} pixels (width x height) but the model takes {c}x{r} images " +
                                           $"(its input is {Show(inputShape)}): a PNG is resized only when its aspect ratio is the model's; crop or pad it first");
        return (r, c);
    }
}
