namespace ActorTrainer.Core.Data

open System
open System.IO
open System.IO.Compression

/// Raw unsigned-byte IDX array (type code 0x08): `Data.Length = product Dims`, row-major (last dim fastest).
type IdxArray = { Dims: int[]; Data: byte[] }

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

/// Reading and writing of the IDX format used by MNIST (big-endian header: 0x00 0x00 type ndim, then ndim int32 sizes).
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

    let private bigEndianInt32 (b: byte[]) (offset: int) : int =
        (int b.[offset] <<< 24) ||| (int b.[offset + 1] <<< 16) ||| (int b.[offset + 2] <<< 8) ||| int b.[offset + 3]

    /// Parses header and data; `available` (bytes left in the stream incl. the header, when known) lets a
    /// truncated file be reported before its full-size buffer is allocated.
    let private parse (name: string) (available: int64 voption) (stream: Stream) : IdxArray =
        let magic = Array.zeroCreate<byte> 4
        let got = readFully stream magic
        if got < 4 then
            raise (InvalidDataException(sprintf "IDX file '%s': truncated header, expected 4 bytes of magic number, got %d" name got))
        if magic.[0] <> 0uy || magic.[1] <> 0uy then
            raise (InvalidDataException(
                sprintf "IDX file '%s': wrong magic number 0x%02x%02x%02x%02x, expected 0x0000 followed by type code and ndim (e.g. 0x00000803 for images, 0x00000801 for labels)"
                    name magic.[0] magic.[1] magic.[2] magic.[3]))
        if magic.[2] <> UnsignedByteType then
            raise (InvalidDataException(
                sprintf "IDX file '%s': wrong type code 0x%02x, expected 0x08 (unsigned byte)" name magic.[2]))
        let ndim = int magic.[3]
        if ndim < 1 then
            raise (InvalidDataException(sprintf "IDX file '%s': wrong number of dimensions %d, expected at least 1" name ndim))
        let dimBytes = Array.zeroCreate<byte> (4 * ndim)
        let gotDims = readFully stream dimBytes
        if gotDims < dimBytes.Length then
            raise (InvalidDataException(
                sprintf "IDX file '%s': truncated header, expected %d bytes of dimension sizes, got %d" name dimBytes.Length gotDims))
        let dims = Array.init ndim (fun i -> bigEndianInt32 dimBytes (4 * i))
        dims |> Array.iteri (fun i d ->
            if d < 0 then
                raise (InvalidDataException(sprintf "IDX file '%s': dimension %d has negative size %d" name i d)))
        let total = dims |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
        if total > int64 Array.MaxLength then
            raise (InvalidDataException(
                sprintf "IDX file '%s': shape [%s] has %d elements, more than the maximum array length %d"
                    name (String.Join(", ", dims)) total Array.MaxLength))
        match available with
        | ValueSome bytes when bytes - int64 (4 + dimBytes.Length) < total ->
            raise (InvalidDataException(
                sprintf "IDX file '%s': truncated data for shape [%s], expected %d bytes, got %d"
                    name (String.Join(", ", dims)) total (max 0L (bytes - int64 (4 + dimBytes.Length)))))
        | _ -> ()
        let data = Array.zeroCreate<byte> (int total)
        let gotData = readFully stream data
        if gotData < data.Length then
            raise (InvalidDataException(
                sprintf "IDX file '%s': truncated data for shape [%s], expected %d bytes, got %d"
                    name (String.Join(", ", dims)) data.Length gotData))
        { Dims = dims; Data = data }

    /// Parses an IDX array from `stream` (raw, or gzip detected by the magic bytes 1f 8b); `name` labels error messages.
    /// Throws InvalidDataException naming `name` on a bad magic number, type code, or truncated header/data.
    let readStream (name: string) (stream: Stream) : IdxArray =
        if isNull stream then nullArg "stream"
        let name = if String.IsNullOrEmpty name then "<stream>" else name
        // Peek two bytes without requiring a seekable stream.
        let head = Array.zeroCreate<byte> 2
        let got = readFully stream head
        use joined = new PrefixedStream(head, got, stream)
        if got = 2 && isGzipHeader (int head.[0]) (int head.[1]) then
            try
                use gz = new GZipStream(joined, CompressionMode.Decompress, true)
                use buffered = new BufferedStream(gz, 1 <<< 16)
                parse name ValueNone buffered
            with
            | :? InvalidDataException as e when not (e.Message.StartsWith "IDX file") ->
                raise (InvalidDataException(sprintf "IDX file '%s': corrupt gzip data (%s)" name e.Message, e))
        else
            let available =
                if stream.CanSeek then ValueSome(int64 got + stream.Length - stream.Position) else ValueNone
            parse name available joined

    /// Reads the IDX file at `path` (raw, or gzip detected by the magic bytes 1f 8b, not by extension).
    /// Throws FileNotFoundException naming the path if absent, InvalidDataException naming it if malformed.
    let read (path: string) : IdxArray =
        if String.IsNullOrEmpty path then invalidArg "path" "IDX path must be a non-empty string"
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "IDX file '%s' does not exist" path, path))
        use fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)
        readStream path fs

    let private writeTo (stream: Stream) (arr: IdxArray) =
        let header = Array.zeroCreate<byte> (4 + 4 * arr.Dims.Length)
        header.[2] <- UnsignedByteType
        header.[3] <- byte arr.Dims.Length
        arr.Dims |> Array.iteri (fun i d ->
            let o = 4 + 4 * i
            header.[o] <- byte (d >>> 24)
            header.[o + 1] <- byte (d >>> 16)
            header.[o + 2] <- byte (d >>> 8)
            header.[o + 3] <- byte d)
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
