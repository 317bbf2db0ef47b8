"""PyTorch peer for the CUDA side-by-side benchmark (bench/cuda/README.md).

Reference model as ../shared/peers/torch_mlp.py: 784-512(relu)-10, xavier-uniform weights, zero biases,
CrossEntropyLoss, RMSprop(lr 1e-3, alpha 0.9, eps 1e-7), batch 128, 5 epochs, reshuffled every epoch (permutation
drawn on the device), the whole MNIST resident on the device.

Usage:
  torch_peer.py MNIST_DIR [--device cuda|cpu] [--epochs 5] [--mode eager|graph|both] [--threads N]
  torch_peer.py [MNIST_DIR] --large [--device cuda|cpu] [--large-batch 4096] [--large-width 4096]
                [--large-rows 65536] [--large-warmup 5] [--large-steps 20] [--gemm-n 4096]

Modes (exactly one `SUMMARY {json}` line per mode on stdout):
  eager  the torch_mlp.py loop: per-epoch seconds, total, test accuracy, median of 20 inferences of the 10k
         test images (ms).
  graph  (cuda only) the whole training step (forward, loss, backward, RMSprop step with capturable=True)
         captured once in a torch.cuda.CUDAGraph over static input/target tensors and replayed per batch; the
         batch is gathered into the static tensors with index_select on the device. The last partial batch
         (60000 = 468*128 + 96) gets a second graph, so the sample count equals eager. Warm-up on a side
         stream before capture (as the PyTorch CUDA-graph docs require); the warm-up's effect on weights and
         optimizer state is undone afterwards, so training starts from the same initial weights as eager.
         On cpu it prints a SUMMARY with "skipped" instead.
  --large  784-W(relu)-W(relu)-10, batch B (default W=B=4096), fp32 with TF32 off, RMSprop as above, on random
         data (fixed seed, random labels); warm-up steps then timed steps (synchronised); samples/s and
         achieved TFLOP/s with FLOPs/step = 6*B*(784*W + W*W + W*10) (forward 2 + backward 4 per weight,
         nominal), next to an n^3 fp32 SGEMM (torch.mm) measured in the same run as the peak, and the ratio.
Runs the large benchmark instead of eager/graph when --large is given.
"""
import argparse, json, statistics, struct, sys, time

import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument("mnist_dir", nargs="?", default="/tmp/mnist")
ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--mode", default="eager", choices=["eager", "graph", "both"])
ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch's default)")
ap.add_argument("--infer-reps", type=int, default=20)
ap.add_argument("--large", action="store_true")
ap.add_argument("--large-batch", type=int, default=4096)
ap.add_argument("--large-width", type=int, default=4096)
ap.add_argument("--large-rows", type=int, default=65536)
ap.add_argument("--large-warmup", type=int, default=5)
ap.add_argument("--large-steps", type=int, default=20)
ap.add_argument("--gemm-n", type=int, default=4096)
ap.add_argument("--gemm-reps", type=int, default=20)
a = ap.parse_args()

dev = a.device
if dev == "cuda" and not torch.cuda.is_available():
    sys.exit("torch_peer: --device cuda but torch.cuda.is_available() is False")
if a.threads > 0:
    torch.set_num_threads(a.threads)


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


def base_info(mode):
    d = dict(mode=mode, device=dev, torch=torch.__version__, threads=torch.get_num_threads())
    if dev == "cuda":
        d["gpu"] = torch.cuda.get_device_name(0)
        d["cuda"] = torch.version.cuda
    return d


def summary(d):
    print("SUMMARY " + json.dumps(d), flush=True)


def make_mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    m = nn.Sequential(*layers)
    for l in m:
        if isinstance(l, nn.Linear):
            nn.init.xavier_uniform_(l.weight)
            nn.init.zeros_(l.bias)
    return m.to(dev)


def rmsprop(params, capturable=False):
    kw = dict(lr=1e-3, alpha=0.9, eps=1e-7)
    if capturable:
        kw["capturable"] = True
    return torch.optim.RMSprop(params, **kw)


def time_ms(fn, reps):
    ts = []
    for _ in range(reps):
        sync(); t = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t)
    return 1000 * statistics.median(ts)


# ---------------------------------------------------------------- reference model (eager / graph)

def rd(p):
    b = open(p, "rb").read(); nd = b[3]; dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(b), dtype=torch.uint8, offset=4 + 4 * nd).reshape(dims)


def load_mnist(d):
    X = (rd(d + "/train-images-idx3-ubyte").reshape(60000, 784).float() / 255).to(dev)
    Y = rd(d + "/train-labels-idx1-ubyte").long().to(dev)
    Xt = (rd(d + "/t10k-images-idx3-ubyte").reshape(10000, 784).float() / 255).to(dev)
    Yt = rd(d + "/t10k-labels-idx1-ubyte").long().to(dev)
    return X, Y, Xt, Yt


B, N = 128, 60000
FULL, REM = N // B, N % B          # 468 full batches, 96 rows left
STEPS = FULL + (1 if REM else 0)


def evaluate(m, Xt, Yt):
    with torch.no_grad():
        acc = (m(Xt).argmax(1) == Yt).float().mean().item()
        infer = time_ms(lambda: m(Xt), a.infer_reps)
    return acc, infer


def finish(d, ep_times, train_s):
    d["epochs"] = len(ep_times)
    d["epoch_s"] = ep_times
    d["steady_epoch_ms"] = 1000 * (statistics.median(ep_times[1:]) if len(ep_times) > 1 else ep_times[0])
    d["train_s"] = train_s
    return d


def run_eager(data, first):
    X, Y, Xt, Yt = data
    torch.manual_seed(0)
    m = make_mlp([784, 512, 10]); lf = nn.CrossEntropyLoss(); opt = rmsprop(m.parameters())
    sync(); t0 = time.perf_counter(); ep_times = []
    for ep in range(a.epochs):
        te = time.perf_counter(); perm = torch.randperm(N, device=dev)
        for s in range(STEPS):
            idx = perm[s * B:(s + 1) * B]; out = m(X[idx]); loss = lf(out, Y[idx])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        sync(); ep_times.append(time.perf_counter() - te)
    train = time.perf_counter() - t0
    acc, infer = evaluate(m, Xt, Yt)
    d = finish(base_info("eager"), ep_times, train)
    d.update(total_s=train, samples_per_epoch=N, first_in_process=first, test_acc=acc, infer10k_ms=infer)
    summary(d)


def run_graph(data, first):
    if dev != "cuda":
        print("torch_peer: graph mode needs --device cuda; skipped", file=sys.stderr, flush=True)
        summary(dict(base_info("graph"), skipped="graph mode needs cuda"))
        return
    X, Y, Xt, Yt = data
    torch.manual_seed(0)
    m = make_mlp([784, 512, 10]); lf = nn.CrossEntropyLoss(); opt = rmsprop(m.parameters(), capturable=True)
    init = [p.detach().clone() for p in m.parameters()]

    shapes = [B] + ([REM] if REM else [])
    sx = {b: torch.zeros(b, 784, device=dev) for b in shapes}
    sy = {b: torch.zeros(b, dtype=torch.long, device=dev) for b in shapes}

    def step(b):
        out = m(sx[b]); loss = lf(out, sy[b]); loss.backward(); opt.step()
        return loss

    sync(); t0 = time.perf_counter()
    # warm-up on a side stream (cuBLAS handles/workspaces, optimizer state, autograd), as the docs require
    torch.index_select(X, 0, torch.arange(B, device=dev), out=sx[B])
    torch.index_select(Y, 0, torch.arange(B, device=dev), out=sy[B])
    if REM:
        torch.index_select(X, 0, torch.arange(REM, device=dev), out=sx[REM])
        torch.index_select(Y, 0, torch.arange(REM, device=dev), out=sy[REM])
    s = torch.cuda.Stream(); s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            for b in shapes:
                opt.zero_grad(set_to_none=True); step(b)
    torch.cuda.current_stream().wait_stream(s)
    sync(); t1 = time.perf_counter()
    graphs, static_loss = {}, {}
    for b in shapes:          # one private memory pool per graph: the replays never overwrite each other's memory
        g = torch.cuda.CUDAGraph()
        opt.zero_grad(set_to_none=True)   # grads then come from the graph's pool
        with torch.cuda.graph(g):
            static_loss[b] = step(b)
        graphs[b] = g
    sync(); t2 = time.perf_counter()
    # undo the warm-up: initial weights back, optimizer state (step, square_avg) to zero, all in place
    with torch.no_grad():
        for p, p0 in zip(m.parameters(), init):
            p.copy_(p0)
        for st in opt.state.values():
            for v in st.values():
                if torch.is_tensor(v):
                    v.zero_()
    sync(); t3 = time.perf_counter()

    ep_times = []
    for ep in range(a.epochs):
        te = time.perf_counter(); perm = torch.randperm(N, device=dev)
        for i in range(STEPS):
            b = B if i < FULL else REM
            idx = perm[i * B:i * B + b]
            torch.index_select(X, 0, idx, out=sx[b]); torch.index_select(Y, 0, idx, out=sy[b])
            graphs[b].replay()
        sync(); ep_times.append(time.perf_counter() - te)
    train = time.perf_counter() - t3
    acc, infer = evaluate(m, Xt, Yt)

    # bonus: the 10k-image inference captured in a graph too
    with torch.no_grad():
        sxt = Xt.clone(); m(sxt); sync()
        gi = torch.cuda.CUDAGraph()
        with torch.cuda.graph(gi):
            m(sxt)
        infer_g = time_ms(gi.replay, a.infer_reps)

    d = finish(base_info("graph"), ep_times, train)
    d.update(warmup_s=t1 - t0, capture_s=t2 - t1, setup_s=t3 - t0, total_s=t3 - t0 + train,
             partial_batch=(f"second graph for the last {REM}-row batch" if REM else "none"),
             samples_per_epoch=N, graphs=len(graphs), first_in_process=first, test_acc=acc,
             infer10k_ms=infer, infer10k_graph_ms=infer_g)
    summary(d)


# ---------------------------------------------------------------- large MLP vs SGEMM peak

def run_large():
    # fp32 without TF32: the new precision API where this torch has it (2.9+; mixing it with the legacy flags is
    # deprecated), the legacy flags otherwise
    if hasattr(torch.backends, "fp32_precision"):   # (hasattr on torch.backends.cuda.matmul raises on old torch)
        torch.backends.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.fp32_precision = "ieee"
        precision = "fp32_precision=ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        if hasattr(torch, "set_float32_matmul_precision"):
            torch.set_float32_matmul_precision("highest")
        precision = "allow_tf32=False"
    Bl, W, rows = a.large_batch, a.large_width, max(a.large_rows, a.large_batch)
    nb = rows // Bl
    g = torch.Generator().manual_seed(0)
    X = torch.rand(nb * Bl, 784, generator=g).to(dev)
    Y = torch.randint(0, 10, (nb * Bl,), generator=g).to(dev)
    torch.manual_seed(0)
    m = make_mlp([784, W, W, 10]); lf = nn.CrossEntropyLoss(); opt = rmsprop(m.parameters())
    it = [0]

    def step():
        i = it[0] % nb; it[0] += 1
        out = m(X[i * Bl:(i + 1) * Bl]); loss = lf(out, Y[i * Bl:(i + 1) * Bl])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    for _ in range(a.large_warmup):
        step()
    sync(); t = time.perf_counter()
    for _ in range(a.large_steps):
        step()
    sync(); el = time.perf_counter() - t
    flops = 6.0 * Bl * (784 * W + W * W + W * 10)
    tflops = flops * a.large_steps / el / 1e12

    n = a.gemm_n
    A = torch.randn(n, n, generator=g).to(dev); Bm = torch.randn(n, n, generator=g).to(dev)
    C = torch.empty(n, n, device=dev)
    for _ in range(3):
        torch.mm(A, Bm, out=C)
    sync(); t = time.perf_counter()
    for _ in range(a.gemm_reps):
        torch.mm(A, Bm, out=C)
    sync(); gel = time.perf_counter() - t
    peak = 2.0 * n ** 3 * a.gemm_reps / gel / 1e12

    # check that the GEMMs really ran in fp32: TF32 gives a relative error near 1e-3, fp32 near 1e-6
    k = min(n, 1024)
    Ad, Bd = A[:k, :k].double(), Bm[:k, :k].double()
    ref = Ad @ Bd
    rel_err = ((A[:k, :k] @ Bm[:k, :k]).double() - ref).abs().max().item() / ref.abs().max().item()

    d = base_info("large")
    d.update(layers=[784, W, W, 10], batch=Bl, rows=nb * Bl, dtype="float32",
             precision=precision, sgemm_rel_err=rel_err,
             warmup_steps=a.large_warmup, timed_steps=a.large_steps, step_ms=1000 * el / a.large_steps,
             samples_per_s=Bl * a.large_steps / el, flops_per_step=flops, tflops=tflops,
             sgemm_n=n, sgemm_reps=a.gemm_reps, sgemm_ms=1000 * gel / a.gemm_reps, sgemm_tflops=peak,
             ratio_to_sgemm=tflops / peak)
    summary(d)


if a.large:
    run_large()
else:
    data = load_mnist(a.mnist_dir)
    first = True
    if a.mode in ("eager", "both"):
        run_eager(data, first); first = False
    if a.mode in ("graph", "both"):
        run_graph(data, first)
