namespace ActorTrainer.Core.Data

open System
open System.IO
open System.IO.Compression
open ActorTrainer.Core

/// Raw unsigned-byte IDX array (type code 0x08): `Data.Length = product Dims`, row-major (last dim fastest).
type IdxArray =
    { /// Size of each dimension (MNIST images: count, rows, columns; labels: count).
      Dims: int[]
      /// The elements, product(Dims) bytes, row-major.
      Data: byte[] }

/// Read-only stream that yields `prefix[0..count-1]` and then the rest of `inner` (lets a non-seekable stream be peeked).
type internal PrefixedStream(prefix: byte[], count: int, inner: Stream) =
    inherit Stream()
    let mutable pos = 0
    override _.CanRead = true
    override _.CanSeek = false
    override _.CanWrite = false
    override _.Length = raise (NotSupportedException "PrefixedStream has no length")
    override _.Position
        with get () = raise (NotSupportedException "PrefixedStream has no position")
        and set (_: int64) = raise (NotSupportedException "PrefixedStream has no position")
    override _.Flush() = ()
    override _.Seek(_: int64, _: SeekOrigin) : int64 = raise (NotSupportedException "PrefixedStream cannot seek")
    override _.SetLength(_: int64) = raise (NotSupportedException "PrefixedStream cannot set length")
    override _.Write(_: byte[], _: int, _: int) = raise (NotSupportedException "PrefixedStream is read-only")
    override _.Read(buffer: byte[], offset: int, n: int) =
        if pos < count then
            let k = min n (count - pos)
            Buffer.BlockCopy(prefix, pos, buffer, offset, k)
            pos <- pos + k
            k
        else
            inner.Read(buffer, offset, n)

namespace ActorTrainer.Core.FSharp

open System
open System.IO
open System.IO.Compression
open ActorTrainer.Core
open ActorTrainer.Core.Data

/// Reading and writing of the IDX format used by MNIST (big-endian header: 0x00 0x00 type ndim, then ndim unsigned
/// 32-bit sizes), for F# (`Idx.read path`, `Idx.write path arr`); C# calls ActorTrainer.Core.Data.Idx (`Idx.Read(path)`).
module Idx =

    /// The only IDX element type supported: unsigned byte.
    [<Literal>]
    let UnsignedByteType = 0x08uy

    let private isGzipHeader (b0: int) (b1: int) = b0 = 0x1f && b1 = 0x8b

    /// Reads exactly `buffer.Length` bytes, or as many as the stream holds; returns the count read.
    let private readFully (stream: Stream) (buffer: byte[]) : int =
        let mutable total = 0
        let mutable finished = false
        while not finished && total < buffer.Length do
            let n = stream.Read(buffer, total, buffer.Length - total)
            if n <= 0 then finished <- true else total <- total + n
        total

    /// IDX sizes are unsigned 32-bit: 0xEE6B2800 is 4000000000, not a negative int.
    let private bigEndianUInt32 (b: byte[]) (offset: int) : uint32 =
        Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ReadOnlySpan(b, offset, 4))

    let private fail (msg: string) : 'a = raise (DataFormatException msg)

    let private shapeStr (dims: int[]) = String.Join(", ", dims)

    /// Element count of non-negative dims, saturating just above Array.MaxLength (never overflows).
    let private elements (dims: int[]) : int64 =
        if Array.contains 0 dims then 0L
        else dims |> Array.fold (fun (acc: int64) d -> if acc > int64 Array.MaxLength then acc else acc * int64 d) 1L

    /// A file of `available` bytes (header included; ValueNone: not known, e.g. gzip) shorter than its header's `sizes`
    /// promise is truncated: reported with the bytes expected and held before any size limit is checked, so a 16-byte
    /// file claiming 2³¹ images says it is cut short, and a limit is reported only for data that is really there.
    let private checkLength (name: string) (available: int64 voption) (sizes: uint32[]) =
        match available with
        | ValueSome bytes ->
            let header = int64 (4 + 4 * sizes.Length)
            let body = max 0L (bytes - header)
            let promised = sizes |> Array.fold (fun (acc: bigint) d -> acc * bigint d) 1I
            if promised > bigint body then
                fail (sprintf "IDX file '%s': truncated data for shape [%s], expected %s bytes, got %d (the file is %d bytes long, its header %d of them)"
                        name (String.Join(", ", sizes)) (promised.ToString()) body bytes (min bytes header))
        | ValueNone -> ()

    /// Parses the header (magic, type code, dims); a file known to be shorter than the dims promise is truncated
    /// (checkLength); the element count must fit one .NET array.
    let private parseHeader (name: string) (available: int64 voption) (stream: Stream) : int[] =
        let magic = Array.zeroCreate<byte> 4
        let got = readFully stream magic
        if got < 4 then
            fail (sprintf "IDX file '%s': truncated header, expected 4 bytes of magic number, got %d" name got)
        if magic.[0] <> 0uy || magic.[1] <> 0uy then
            fail (sprintf "IDX file '%s': wrong magic number 0x%02x%02x%02x%02x, expected 0x0000 followed by type code and ndim (e.g. 0x00000803 for images, 0x00000801 for labels)"
                    name magic.[0] magic.[1] magic.[2] magic.[3])
        if magic.[2] <> UnsignedByteType then
            fail (sprintf "IDX file '%s': wrong type code 0x%02x, expected 0x08 (unsigned byte)" name magic.[2])
        let ndim = int magic.[3]
        if ndim < 1 then
            fail (sprintf "IDX file '%s': wrong number of dimensions %d, expected at least 1" name ndim)
        let dimBytes = Array.zeroCreate<byte> (4 * ndim)
        let gotDims = readFully stream dimBytes
        if gotDims < dimBytes.Length then
            fail (sprintf "IDX file '%s': truncated header, expected %d bytes of dimension sizes, got %d" name dimBytes.Length gotDims)
        let sizes = Array.init ndim (fun i -> bigEndianUInt32 dimBytes (4 * i))
        checkLength name available sizes
        sizes |> Array.iteri (fun i d ->
            if d > uint32 Int32.MaxValue then
                raise (ResourceLimitException(
                    sprintf "IDX file '%s': dimension %d of shape [%s] has size %d, more than the largest supported %d"
                        name i (String.Join(", ", sizes)) d Int32.MaxValue)))
        let dims = sizes |> Array.map int
        if elements dims > int64 Array.MaxLength then
            raise (ResourceLimitException(
                sprintf "IDX file '%s': shape [%s] has more elements (bytes) than the maximum array length %d"
                    name (shapeStr dims) Array.MaxLength))
        dims

    /// Reads `total` body bytes. When the stream is known to hold them (`known`) the buffer is allocated at once;
    /// otherwise (gzip) it grows as data arrives, so a stream that ends early never costs much more than it held.
    let private readBody (name: string) (dims: int[]) (total: int) (known: bool) (stream: Stream) : byte[] =
        let mutable buf = if known then ActorTrainer.Kernels.LargeArrays.Allocate<byte> total else GC.AllocateUninitializedArray<byte>(min total (1 <<< 20))
        let mutable got = 0
        let mutable finished = false
        while not finished && got < total do
            if got = buf.Length then
                let bigger = GC.AllocateUninitializedArray<byte>(int (min (int64 total) (2L * int64 buf.Length)))
                Buffer.BlockCopy(buf, 0, bigger, 0, got)
                buf <- bigger
            let n = stream.Read(buf, got, buf.Length - got)
            if n <= 0 then finished <- true else got <- got + n
        if got < total then
            fail (sprintf "IDX file '%s': truncated data for shape [%s], expected %d bytes, got %d" name (shapeStr dims) total got)
        buf

    /// Parses header and data; `available` (bytes left in the stream incl. the header, when known) lets a truncated
    /// file be reported before its buffer is allocated. `check` sees the dims before the body is read (and may throw).
    let private parse (name: string) (available: int64 voption) (check: int[] -> unit) (stream: Stream) : IdxArray =
        let dims = parseHeader name available stream   // a known length shorter than the dims promise: refused there
        check dims
        let total = elements dims
        let body = match available with ValueSome bytes -> bytes - int64 (4 + 4 * dims.Length) | ValueNone -> -1L
        if available.IsSome && body > total then
            fail (sprintf "IDX file '%s': %d trailing bytes after the %d data bytes of shape [%s]" name (body - total) total (shapeStr dims))
        let data = readBody name dims (int total) available.IsSome stream
        if available.IsNone && stream.ReadByte() >= 0 then
            fail (sprintf "IDX file '%s': trailing data after the %d data bytes of shape [%s]" name total (shapeStr dims))
        { Dims = dims; Data = data }

    /// Runs `f` on the decoded content of `stream` (raw, or gzip detected by the magic bytes 1f 8b); `f` gets the bytes
    /// left in the stream when known. Corrupt gzip data becomes DataFormatException naming `name`.
    let private decoded (name: string) (stream: Stream) (f: int64 voption -> Stream -> 'a) : 'a =
        // Peek two bytes without requiring a seekable stream.
        let head = Array.zeroCreate<byte> 2
        let got = readFully stream head
        use joined = new PrefixedStream(head, got, stream)
        if got = 2 && isGzipHeader (int head.[0]) (int head.[1]) then
            try
                use gz = new GZipStream(joined, CompressionMode.Decompress, true)
                use buffered = new BufferedStream(gz, 1 <<< 16)
                f ValueNone buffered
            with :? InvalidDataException as e ->
                raise (DataFormatException(sprintf "IDX file '%s': corrupt gzip data: its compressed bytes or checksum are damaged (%s)" name e.Message, e))
        else
            let available = if stream.CanSeek then ValueSome(int64 got + stream.Length - stream.Position) else ValueNone
            f available joined

    let private label (name: string) = if String.IsNullOrEmpty name then "<stream>" else name

    /// Like readStream, but `check` sees the dims from the header before the body is decoded and may throw (e.g. a
    /// DataFormatException for a shape the caller cannot use), so nothing is allocated for a file that will be refused.
    let internal readStreamWith (name: string) (check: int[] -> unit) (stream: Stream) : IdxArray =
        if isNull stream then nullArg "stream"
        let name = label name
        decoded name stream (fun available s -> parse name available check s)

    /// Parses an IDX array from `stream` (raw, or gzip detected by the magic bytes 1f 8b); `name` labels error messages.
    /// Throws DataFormatException naming `name` on a bad magic number, type code, truncated header/data or trailing
    /// bytes; ResourceLimitException when a dimension is above 2147483647 or the shape has more elements than an array holds.
    /// A raw seekable stream shorter than its header promises is reported as truncated (bytes expected and held) before
    /// those limits: the limits are for data that is there (or, gzip, whose length is not known from the header).
    let readStream (name: string) (stream: Stream) : IdxArray = readStreamWith name ignore stream

    /// Parses a raw (not gzip) IDX array from a stream known to hold exactly `length` bytes, header included — e.g. an
    /// inflating stream whose size a trusted gzip trailer gives: the body is read straight into one array of its size.
    /// The same errors as readStream for a header or a length that do not agree.
    let internal readSized (name: string) (length: int64) (stream: Stream) : IdxArray =
        parse (label name) (ValueSome length) ignore stream

    let private openFile (path: string) =
        if String.IsNullOrEmpty path then invalidArg "path" "IDX path must be a non-empty string"
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "IDX file '%s' does not exist" path, path))
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)

    /// The dims in the header of the IDX file at `path` (raw or gzip), read without decoding the body; a raw file
    /// shorter than they promise is refused as truncated, as read refuses it.
    let readHeader (path: string) : int[] =
        use fs = openFile path
        decoded path fs (fun available s -> parseHeader path available s)

    /// Like read, with `check` called on the header's dims before the body is decoded (see readStreamWith).
    let internal readWith (check: int[] -> unit) (path: string) : IdxArray =
        use fs = openFile path
        readStreamWith path check fs

    /// Reads the IDX file at `path` (raw, or gzip detected by the magic bytes 1f 8b, not by extension).
    /// Throws FileNotFoundException naming the path if absent, DataFormatException naming it if malformed.
    let read (path: string) : IdxArray = readWith ignore path

    /// The header of an unsigned-byte IDX file of shape `dims`: 0x00 0x00 0x08 ndim, then each size big-endian —
    /// the only header the parser accepts for those dims, so a parsed file's bytes are this header plus its Data.
    let internal headerBytes (dims: int[]) : byte[] =
        let header = Array.zeroCreate<byte> (4 + 4 * dims.Length)
        header.[2] <- UnsignedByteType
        header.[3] <- byte dims.Length
        dims |> Array.iteri (fun i d ->
            let o = 4 + 4 * i
            header.[o] <- byte (d >>> 24)
            header.[o + 1] <- byte (d >>> 16)
            header.[o + 2] <- byte (d >>> 8)
            header.[o + 3] <- byte d)
        header

    let private writeTo (stream: Stream) (arr: IdxArray) =
        let header = headerBytes arr.Dims
        stream.Write(header, 0, header.Length)
        stream.Write(arr.Data, 0, arr.Data.Length)

    /// Writes `arr` as an unsigned-byte IDX file at `path`, gzip-compressed if `path` ends with ".gz".
    /// Atomic: written to a temp file in the same directory, then renamed. Requires `Data.Length = product Dims`, 1 ≤ ndim ≤ 255.
    let write (path: string) (arr: IdxArray) : unit =
        if String.IsNullOrEmpty path then invalidArg "path" "IDX path must be a non-empty string"
        if isNull (box arr) || isNull arr.Dims || isNull arr.Data then
            invalidArg "arr" (sprintf "IDX array for '%s' must have non-null Dims and Data" path)
        if arr.Dims.Length < 1 || arr.Dims.Length > 255 then
            invalidArg "arr" (sprintf "IDX array for '%s' has %d dimensions, expected 1..255" path arr.Dims.Length)
        if arr.Dims |> Array.exists (fun d -> d < 0) then
            invalidArg "arr" (sprintf "IDX array for '%s' has a negative dimension in [%s]" path (String.Join(", ", arr.Dims)))
        let total = arr.Dims |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
        if total <> int64 arr.Data.Length then
            invalidArg "arr" (sprintf "IDX array for '%s': shape [%s] needs %d bytes, Data has %d"
                                   path (String.Join(", ", arr.Dims)) total arr.Data.Length)
        let full = Path.GetFullPath path
        let dir = Path.GetDirectoryName full
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "Cannot write IDX file '%s': directory '%s' does not exist" path dir))
        let temp = Path.Combine(dir, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString "N"))
        try
            do
                use fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 16)
                if full.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) then
                    use gz = new GZipStream(fs, CompressionLevel.SmallestSize, true)
                    writeTo gz arr
                else
                    writeTo fs arr
                fs.Flush true
            File.Move(temp, full, true)
        with _ ->
            if File.Exists temp then File.Delete temp
            reraise ()

namespace ActorTrainer.Core.Data

open System.IO

/// Reading and writing of the IDX format used by MNIST (big-endian header: 0x00 0x00 type ndim, then ndim unsigned
/// 32-bit sizes): `Idx.Read(path)`, `Idx.Write(path, arr)`. F# code calls the curried ActorTrainer.Core.FSharp.Idx.
module Idx =

    /// The only IDX element type supported: unsigned byte (0x08).
    [<Literal>]
    let UnsignedByteType = 0x08uy

    /// Parses an IDX array from `stream` (raw, or gzip detected by the magic bytes 1f 8b); `name` labels error messages.
    /// Throws DataFormatException naming `name` on a bad magic number, type code, truncated header/data or trailing
    /// bytes; ResourceLimitException when a dimension is above 2147483647 or the shape has more elements than an array holds.
    let ReadStream (name: string, stream: Stream) : IdxArray = ActorTrainer.Core.FSharp.Idx.readStream name stream

    /// The dims in the header of the IDX file at `path` (raw or gzip), read without decoding the body.
    let ReadHeader (path: string) : int[] = ActorTrainer.Core.FSharp.Idx.readHeader path

    /// Reads the IDX file at `path` (raw, or gzip detected by the magic bytes 1f 8b, not by extension): Data holds
    /// product(Dims) bytes. Throws FileNotFoundException naming the path if absent, DataFormatException naming it if malformed.
    let Read (path: string) : IdxArray = ActorTrainer.Core.FSharp.Idx.read path

    /// Writes `arr` as an unsigned-byte IDX file at `path`, gzip-compressed if `path` ends with ".gz".
    /// Atomic: written to a temp file in the same directory, then renamed. Requires `Data.Length = product Dims`, 1 ≤ ndim ≤ 255.
    let Write (path: string, arr: IdxArray) : unit = ActorTrainer.Core.FSharp.Idx.write path arr
