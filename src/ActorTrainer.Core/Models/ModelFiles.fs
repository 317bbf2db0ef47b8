namespace ActorTrainer.Core

open System
open System.IO
open System.Collections.Generic
open System.Globalization
open System.Text.Json
open System.Text.Json.Nodes
open ActorTrainer.Interop

/// A model directory: config.json (architecture + compile config), model.safetensors (weights, named
/// "<layer>/kernel", "<layer>/bias"), optimizer.safetensors (slots "slot/<weight>/<k>", iterations in metadata).
/// Written atomically: files go to a temporary sibling directory which then replaces the target.
module ModelFiles =

    /// File names inside a model directory.
    let [<Literal>] ConfigFile = "config.json"
    let [<Literal>] WeightsFile = "model.safetensors"
    let [<Literal>] OptimizerFile = "optimizer.safetensors"

    /// Writes the directory atomically.
    let write (dir: string) (config: JsonNode) (weights: IReadOnlyList<NamedTensor>) (optimizer: Optimizer option) =
        let full = Path.GetFullPath dir
        let parent = Path.GetDirectoryName full
        Directory.CreateDirectory parent |> ignore
        let tmp = Path.Combine(parent, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString("N")))
        Directory.CreateDirectory tmp |> ignore
        try
            File.WriteAllText(Path.Combine(tmp, ConfigFile), config.ToJsonString(JsonSerializerOptions(WriteIndented = true)))
            Safetensors.Write(Path.Combine(tmp, WeightsFile), weights, readOnlyDict [ "format", "actortrainer" ])
            optimizer |> Option.iter (fun o ->
                let iters, slots = o.GetState()
                let tensors =
                    [| for i in 0 .. slots.Length - 1 do
                         for k in 0 .. slots.[i].Length - 1 do
                             yield NamedTensor(sprintf "slot/%d/%d" i k, [| slots.[i].[k].Length |], slots.[i].[k]) |]
                Safetensors.Write(Path.Combine(tmp, OptimizerFile), tensors,
                                  readOnlyDict [ "optimizer", o.Name; "iterations", string iters; "weights", string slots.Length ]))
            let old = full + ".old-" + Guid.NewGuid().ToString("N")
            if Directory.Exists full then Directory.Move(full, old)
            Directory.Move(tmp, full)
            if Directory.Exists old then Directory.Delete(old, true)
        with _ ->
            (try Directory.Delete(tmp, true) with _ -> ())
            reraise ()

    /// config.json larger than this is refused before reading (a Keras-like config is a few KB).
    let [<Literal>] MaxConfigBytes = 16L * 1024L * 1024L

    let private bad (path: string) (msg: string) : 'a = raise (ModelFileException(sprintf "%s: %s" path msg))

    /// Runs a safetensors read, turning its InvalidDataException into ModelFileException (same message) and its
    /// InsufficientMemoryException into ResourceLimitException.
    let private safetensors (f: unit -> 'a) : 'a =
        try f ()
        with
        | :? InvalidDataException as e -> raise (ModelFileException(e.Message, e))
        | :? InsufficientMemoryException as e -> raise (ResourceLimitException(e.Message, e))

    /// The path and parsed top-level object of `dir`/config.json; ModelFileException naming the file when it is too
    /// large, not JSON or not an object; DirectoryNotFound/FileNotFound when absent.
    let readConfig (dir: string) : string * JsonObject =
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "model directory '%s' does not exist" dir))
        let cfgPath = Path.Combine(dir, ConfigFile)
        if not (File.Exists cfgPath) then raise (FileNotFoundException(sprintf "model directory '%s' has no %s" dir ConfigFile, cfgPath))
        let size = FileInfo(cfgPath).Length
        if size > MaxConfigBytes then
            bad cfgPath (sprintf "file is %d bytes, more than the %d-byte limit for a model config" size MaxConfigBytes)
        let node =
            try JsonNode.Parse(File.ReadAllText cfgPath)
            with :? JsonException as e -> bad cfgPath (sprintf "invalid JSON: %s" e.Message)
        match node with
        | :? JsonObject as o -> cfgPath, o
        | n -> bad cfgPath (sprintf "the top level must be a JSON object, got %s" (ModelJson.show n))

    /// The weights of `dir`/model.safetensors in the order of `expected` ((name, shape) of each model weight). Names,
    /// count, dtypes and shapes are compared from the header before any tensor data is read.
    let readWeights (dir: string) (expected: (string * int[])[]) : float32[][] =
        let wPath = Path.Combine(dir, WeightsFile)
        if not (File.Exists wPath) then raise (FileNotFoundException(sprintf "model directory '%s' has no %s" dir WeightsFile, wPath))
        let header = safetensors (fun () -> Safetensors.ReadHeader wPath)
        if header.Tensors.Count <> expected.Length then
            bad wPath (sprintf "holds %d tensors but the model has %d weights (%s)" header.Tensors.Count expected.Length (String.Join(", ", expected |> Array.map fst)))
        let byName = header.Tensors |> Seq.map (fun t -> t.Name, t) |> dict
        for (name, shape) in expected do
            match byName.TryGetValue name with
            | true, t when t.DType <> SafetensorsDType.F32 -> bad wPath (sprintf "tensor '%s' has dtype %O, expected F32" name t.DType)
            | true, t when t.Shape <> shape -> bad wPath (sprintf "tensor '%s' has shape %s but the layer needs %s" name (Shape.str t.Shape) (Shape.str shape))
            | true, _ -> ()
            | _ -> bad wPath (sprintf "no tensor named '%s' (has: %s)" name (String.Join(", ", byName.Keys)))
        let struct (tensors, _) = safetensors (fun () -> Safetensors.Read wPath)
        let data = tensors |> Seq.map (fun t -> t.Name, t.Data) |> dict
        expected |> Array.map (fun (name, _) -> data.[name])

    let private metaNumber (path: string) (meta: IReadOnlyDictionary<string, string>) (key: string) (lo: int64) (hi: int64) =
        match meta.TryGetValue key with
        | true, v ->
            match Int64.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture) with
            | true, n when n >= lo && n <= hi -> n
            | _ -> bad path (sprintf "metadata '%s' = '%s' must be an integer in [%d, %d]" key v lo hi)
        | _ -> bad path (sprintf "metadata lacks '%s'" key)

    /// "slot/<i>/<k>" → (i, k), or None for any other name.
    let private slotIndex (name: string) =
        let parts = name.Split '/'
        let parse (s: string) = Int32.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture)
        if parts.Length <> 3 || parts.[0] <> "slot" then None
        else
            match parse parts.[1], parse parts.[2] with
            | (true, i), (true, k) -> Some(i, k)
            | _ -> None

    /// The optimizer state in `dir`/optimizer.safetensors (None when the file is absent): iterations and, per model
    /// weight, its slots. `sizes` are the element counts of the model's weights; the metadata, tensor names and sizes
    /// are checked against them and against `opt` (its name and slots per weight) before anything is built.
    let readOptimizerState (dir: string) (opt: Optimizer) (sizes: int64[]) : (int64 * float32[][][]) option =
        let oPath = Path.Combine(dir, OptimizerFile)
        if not (File.Exists oPath) then None
        else
            let header = safetensors (fun () -> Safetensors.ReadHeader oPath)
            let meta = header.Metadata
            match meta.TryGetValue "optimizer" with
            | true, name when name <> opt.Name -> bad oPath (sprintf "metadata 'optimizer' = '%s' but config.json compiles %s" name opt.Name)
            | _ -> ()
            let n = int (metaNumber oPath meta "weights" 0L (int64 sizes.Length))
            let iters = metaNumber oPath meta "iterations" 0L Int64.MaxValue
            let per = opt.SlotNames.Length
            for t in header.Tensors do
                match slotIndex t.Name with
                | Some(i, k) when i < n && k < per ->
                    if t.Count <> sizes.[i] then
                        bad oPath (sprintf "tensor '%s' has %d values but weight %d has %d" t.Name t.Count i sizes.[i])
                | _ -> bad oPath (sprintf "unexpected tensor '%s' (expected slot/<weight < %d>/<slot < %d> for %s)" t.Name n per opt.Name)
            let struct (tensors, _) = safetensors (fun () -> Safetensors.Read oPath)
            let slots = Array.init n (fun _ -> Array.zeroCreate<float32[]> per)
            for t in tensors do
                let i, k = (slotIndex t.Name).Value
                slots.[i].[k] <- t.Data
            for i in 0 .. n - 1 do
                let have = slots.[i] |> Array.filter (isNull >> not) |> Array.length
                if have <> 0 && have <> per then
                    bad oPath (sprintf "weight %d has %d of the %d slots %s keeps" i have per opt.Name)
            Some(iters, slots |> Array.map (fun s -> if Array.forall isNull s then [||] else s))
