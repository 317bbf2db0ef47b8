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
/// <param name="Height">Image rows.</param>
/// <param name="Width">Image columns.</param>
/// <param name="Colorspace">Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.</param>
/// <param name="EncodedImage">The encoded image bytes (Summary.Image.encoded_image_string; PNG as EventFileWriter writes it).</param>
public sealed record ImageData(int Height, int Width, int Colorspace, byte[] EncodedImage);

/// <summary>
/// One parsed event (one per Summary.Value; a file_version event has no tag). Exactly the field matching Kind is set:
/// FileVersion, ScalarValue, Histogram or Image. Offset is the byte offset of the enclosing TFRecord in the file.
/// </summary>
/// <param name="Offset">Byte offset of the enclosing TFRecord in the file.</param>
/// <param name="WallTime">Event.wall_time: seconds since the Unix epoch.</param>
/// <param name="Step">Event.step: the global step the value belongs to.</param>
/// <param name="Kind">Which of FileVersion, ScalarValue, Histogram, Image is set (none for Other).</param>
/// <param name="Tag">Summary.Value.tag (null for a file_version event).</param>
/// <param name="FileVersion">Event.file_version (e.g. "brain.Event:2") for Kind FileVersion, else null.</param>
/// <param name="ScalarValue">Summary.Value.simple_value for Kind Scalar, else null.</param>
/// <param name="Histogram">Summary.Value.histo for Kind Histogram, else null.</param>
/// <param name="Image">Summary.Value.image for Kind Image, else null.</param>
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
