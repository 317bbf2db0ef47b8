namespace ActorTrainer.Core.Data

open System.Collections.Generic

/// MNIST in the four standard IDX files, from the copy embedded in this assembly or from a directory:
/// `var (train, test) = Mnist.LoadBundled()`. F# code calls the curried ActorTrainer.Core.FSharp.Mnist
/// (`let train, test = Mnist.loadBundled ()`), which these members run.
module Mnist =

    /// The four standard IDX names, in the order train images, train labels, test images, test labels.
    let FileNames : string[] = ActorTrainer.Core.FSharp.Mnist.fileNames

    /// SHA-256 (lower-case hex) of each original uncompressed IDX file, keyed by its standard name.
    let Sha256 : IReadOnlyDictionary<string, string> = ActorTrainer.Core.FSharp.Mnist.sha256

    /// Checks that SHA-256(`bytes`) equals the published hash of the standard file `name`;
    /// throws DataFormatException naming the file, the expected and the actual hash otherwise.
    let Verify (name: string, bytes: byte[]) : unit = ActorTrainer.Core.FSharp.Mnist.verify name bytes

    /// Starts decoding the bundled copy on a background thread, so that the next LoadBundledWith waits only for what is
    /// left of it; its failure is thrown by the call that takes it.
    let PrefetchBundled () : unit = ActorTrainer.Core.FSharp.Mnist.prefetchBundled ()

    /// (train, test) from the MNIST copy embedded in this assembly: 60000 and 10000 28×28 images, SHA-256 verified,
    /// checked against `expect`; each call returns arrays of its own.
    let LoadBundledWith (expect: MnistExpectation) : struct (Dataset * Dataset) =
        let train, test = ActorTrainer.Core.FSharp.Mnist.loadBundledWith expect
        struct (train, test)

    /// (train, test) from the bundled copy with no expectation (see LoadBundledWith).
    let LoadBundled () : struct (Dataset * Dataset) = LoadBundledWith MnistExpectation.Any

    /// (train, test) from `dir`, which holds the four standard names, each raw or gzip-compressed with a ".gz" suffix;
    /// every header is checked against the others, `expect` and the memory available before any body is decoded.
    let LoadDirWith (expect: MnistExpectation, dir: string) : struct (Dataset * Dataset) =
        let train, test = ActorTrainer.Core.FSharp.Mnist.loadDirWith expect dir
        struct (train, test)

    /// Checks `dir` as LoadDirWith does before it decodes anything, without reading an image or label.
    let CheckDirWith (expect: MnistExpectation, dir: string) : unit = ActorTrainer.Core.FSharp.Mnist.checkDirWith expect dir

    /// (train, test) from `dir` with no expectation (see LoadDirWith).
    let LoadDir (dir: string) : struct (Dataset * Dataset) = LoadDirWith(MnistExpectation.Any, dir)

    /// (train, test): the bundled copy when `dir` is null or "", else the files in `dir`; checked against `expect`
    /// before any image body is decoded.
    let LoadWith (expect: MnistExpectation, dir: string) : struct (Dataset * Dataset) =
        let train, test = ActorTrainer.Core.FSharp.Mnist.loadWith expect dir
        struct (train, test)

    /// The test set alone (t10k-images/t10k-labels): the bundled copy when `dir` is null or "", else the two files in
    /// `dir` (raw or ".gz"), checked against `expect` as LoadWith checks them; the training files are not read.
    let LoadTestWith (expect: MnistExpectation, dir: string) : Dataset = ActorTrainer.Core.FSharp.Mnist.loadTestWith expect dir

    /// (train, test): the bundled copy when `dir` is null or "", else LoadDir(dir).
    let Load (dir: string) : struct (Dataset * Dataset) = LoadWith(MnistExpectation.Any, dir)
