namespace ActorTrainer.Core.Data

open System

/// A labelled image set: `Images` is Count×(Height·Width) row-major float32 in [0,1] (pixel/255, as in the chapter),
/// `Pixels` the same samples as raw bytes, `Labels` Count class ids; `Source` names where the images came from.
type Dataset =
    { /// The images, (Count × Height·Width) float32 row-major, pixel/255 in [0, 1].
      Images: float32[]
      /// The same images as raw bytes, (Count × Height·Width) row-major, 0–255.
      Pixels: byte[]
      /// Class id of each image, (Count) int32 (MNIST: digits 0–9).
      Labels: int[]
      /// Number of samples.
      Count: int
      /// Image rows (MNIST: 28).
      Height: int
      /// Image columns (MNIST: 28).
      Width: int
      /// The image file read: its path, or "bundled mnist/<name>.gz" for the embedded copy.
      Source: string }

    /// First `n` samples (Images/Pixels n×(H·W), Labels n); `n = 0` or `n ≥ Count` returns the whole set. Throws on n < 0.
    member ds.Take(n: int) : Dataset =
        if n < 0 then
            raise (ArgumentOutOfRangeException("n", n, sprintf "Dataset.take: n must be >= 0 (0 = all), got %d for '%s'" n ds.Source))
        if n = 0 || n >= ds.Count then ds
        else
            let pixelsPer = ds.Height * ds.Width
            { ds with
                Images = Array.sub ds.Images 0 (n * pixelsPer)
                Pixels = Array.sub ds.Pixels 0 (n * pixelsPer)
                Labels = Array.sub ds.Labels 0 n
                Count = n }

/// What the caller will do with the data, checked from the IDX headers before any body is decoded: `Features` values
/// per image (rows × columns; 0 = any) and labels in [0, `Classes`) (0 = any).
type MnistExpectation =
    { /// Values per image the model takes (rows × columns; 0 = any size).
      Features: int
      /// Number of classes: every label must lie in [0, Classes) (0 = any label).
      Classes: int }
    /// No expectation: any image size, any label.
    static member Any = { Features = 0; Classes = 0 }
