namespace ActorTrainer.Interop;

/// <summary>What a parsed TensorBoard event carries.</summary>
public enum TensorBoardEventKind
{
    /// <summary>The file header event (Event.file_version, e.g. "brain.Event:2").</summary>
    FileVersion,
    /// <summary>A Summary.Value with simple_value.</summary>
    Scalar,
    /// <summary>A Summary.Value with histo (HistogramProto).</summary>
    Histogram,
    /// <summary>A Summary.Value with image (Summary.Image).</summary>
    Image,
    /// <summary>An event or summary value of a kind this reader does not decode (e.g. graph_def, tensor).</summary>
    Other,
}

/// <summary>Fields of a TensorFlow Summary.Image: Colorspace is the channel count (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).</summary>
public sealed record ImageData(int Height, int Width, int Colorspace, byte[] EncodedImage);

/// <summary>
/// One parsed event (one per Summary.Value; a file_version event has no tag). Exactly the field matching Kind is set:
/// FileVersion, ScalarValue, Histogram or Image. Offset is the byte offset of the enclosing TFRecord in the file.
/// </summary>
public sealed record TensorBoardEvent(
    long Offset,
    double WallTime,
    long Step,
    TensorBoardEventKind Kind,
    string? Tag,
    string? FileVersion = null,
    float? ScalarValue = null,
    HistogramData? Histogram = null,
    ImageData? Image = null);
