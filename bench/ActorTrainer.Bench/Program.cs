using ActorTrainer.Bench;

// Usage: dotnet run -c Release --project bench/ActorTrainer.Bench -- gemm [minReps] [shape substring] | gemm-steady [reps] | elementwise | fit [epochs] [shards,..] | runtime [--steps N] | scaling [--steps N] [--accuracy] | step-profile [reps] [rows] | tape [steps] | custom-layer [steps] [rounds] | service [--clients 200] | cluster [--rounds 3] [--workers 2] [--train-limit N] [--spin A,B] | cluster --ceiling [--rounds 8] [--steps 3000] | dataplane [--steps 300] [--tls] | cuda [--accelerator cuda|cpu] [--quick] | bdn [BenchmarkDotNet args]
string mode = args.Length > 0 ? args[0] : "gemm";
switch (mode)
{
    case "gemm":
        GemmQuick.Run(args.Length > 1 ? int.Parse(args[1]) : 30, shapeFilter: args.Length > 2 ? args[2] : null);
        break;
    case "gemm-steady":
        return GemmSteady.Run(args.Skip(1).ToArray());
    case "tune":
        GemmTune.Run(args.Skip(1).ToArray());
        break;
    case "elementwise":
        ElementwiseBench.Run();
        break;
    case "fit":
        return FitBench.Run(args.Skip(1).ToArray());
    case "step-profile":
        return StepProfile.Run(args.Skip(1).ToArray());
    case "tape":
        return TapeBench.Run(args.Skip(1).ToArray());
    case "custom-layer":
        return CustomLayerBench.Run(args.Skip(1).ToArray());
    case "runtime":
        return RuntimeBench.Run(args.Skip(1).ToArray());
    case "scaling":
        return ScalingBench.Run(args.Skip(1).ToArray());
    case "cluster":
        return ClusterBench.Run(args.Skip(1).ToArray());
    case "cluster-ceiling-child":                              // hidden: the child processes of `cluster --ceiling`
        return SliceExchangeBench.Child(args.Skip(1).ToArray());
    case "service":
        return ServiceBench.Run(args.Skip(1).ToArray());
    case "dataplane":
        return DataPlaneBench.Run(args.Skip(1).ToArray());
    case "dataplane-peer":                                     // hidden: the child process `dataplane` starts
        return DataPlaneBench.Peer(args.Skip(1).ToArray());
    case "cuda":
        return CudaBench.Run(args.Skip(1).ToArray());
    case "bdn":
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(GemmBenchmarks).Assembly).Run(args.Skip(1).ToArray());
        break;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'; expected gemm | gemm-steady | elementwise | fit | step-profile | runtime | scaling | tape | custom-layer | service | cluster | dataplane | cuda | bdn | tune");
        return 2;
}
return 0;
