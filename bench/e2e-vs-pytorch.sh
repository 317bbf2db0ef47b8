#!/usr/bin/env bash
# End to end, side by side: README's `train` (the reference model, 5 epochs, full MNIST, seed 1) against the PyTorch
# peer (../shared/peers/w1_torch.py, 1 and 2 threads), alternating, ROUNDS rounds; prints every run's train seconds
# and the medians. Ours runs on the actor runtime (trainer.runtime = actors) and in-process (what the default `auto`
# picks where the auto worker layout is the in-process partition, as on 2 cores), each with the sparse-operand GEMM path on and off
# (ACTORTRAINER_SPARSE_GEMM=0: the dense kernels; the weights are the same bits either way). TensorBoard stays on, as
# in README's `train` (its epoch-end work is inside train_seconds); the plots and the saved model, written after
# train_seconds ends, are off.
# Needs: a Release build of the daemon, and Debian python3-torch python3-threadpoolctl libopenblas0-pthread.
# Usage: bash bench/e2e-vs-pytorch.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
daemon=src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll
peers=$(cd .. && pwd)/shared/peers
mnist=${MNIST_DIR:-/tmp/anchors/mnist/}
[ -f "$daemon" ] || { echo "error: $daemon not found; build first: dotnet build -c Release ActorTrainer.sln" >&2; exit 2; }
[ -f "$peers/w1_torch.py" ] || { echo "error: $peers/w1_torch.py not found (the PyTorch peer, ../shared/peers beside the repository)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch, threadpoolctl' 2>/dev/null ||
  { echo "error: /usr/bin/python3 cannot import torch and threadpoolctl; apt-get install python3-torch python3-threadpoolctl libopenblas0-pthread" >&2; exit 2; }
if [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
  mkdir -p "$mnist"
  for f in src/ActorTrainer.Core/Data/mnist/*.gz; do gunzip -c "$f" > "$mnist/$(basename "${f%.gz}")"; done
fi
run_dir=$(mktemp -d)
declare -A times
ours() {   # label, sparse (1|0), runtime
  rm -rf "$run_dir/r"
  ACTORTRAINER_SPARSE_GEMM=$2 dotnet "$daemon" train --run-dir "$run_dir/r" --set trainer.runtime=$3 --set output.plots=false \
    --set output.save-model=false --set trainer.verbose=0 > /dev/null 2> "$run_dir/err" ||
    { echo "error: ours ($1) failed:" >&2; cat "$run_dir/err" >&2; exit 1; }
  python3 -c "import json,sys; d=json.load(open('$run_dir/r/summary.json')); print(d['train_seconds'], d['test_accuracy'], d['weights_sha256'][:16])"
}
# The peer's OpenBLAS kernels: its own choice for the CPU (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset), except where
# OpenBLAS 0.3.21 does not know the CPU and falls back to its generic Prescott (SSE3) kernels — seen on an Intel Xeon
# family 6 model 207 (Emerald Rapids): then the newest kernels the CPU runs (SkylakeX on AVX-512, Haswell on AVX2),
# so that the peer is never slowed by a detection gap. PEER_OPENBLAS_CORETYPE overrides the choice.
peer_core=${PEER_OPENBLAS_CORETYPE:-}
if [ -z "$peer_core" ]; then
  detected=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 -c 'import torch, threadpoolctl
print(next((d.get("architecture") or "?") for d in threadpoolctl.threadpool_info() if d["internal_api"] == "openblas"))' 2>/dev/null || echo "?")
  case "$detected" in
    Prescott|Katmai|Coppermine|Northwood|Core2|Penryn|Dunnington|Nehalem|Sandybridge|"?")
      if grep -qw avx512f /proc/cpuinfo; then peer_core=SkylakeX; elif grep -qw avx2 /proc/cpuinfo; then peer_core=Haswell; fi ;;
  esac
  if [ -n "$peer_core" ]; then echo "peer OpenBLAS: detected '$detected' for this CPU: forced OPENBLAS_CORETYPE=$peer_core (detection gap)"
  else echo "peer OpenBLAS: detected '$detected' for this CPU (kept)"; fi
else
  echo "peer OpenBLAS: OPENBLAS_CORETYPE=$peer_core (PEER_OPENBLAS_CORETYPE)"
fi
torch() {  # threads
  (cd "$peers" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${peer_core:+OPENBLAS_CORETYPE=$peer_core} OMP_WAIT_POLICY=PASSIVE \
    MNIST_DIR="$mnist" /usr/bin/python3 w1_torch.py "$1" 2>/dev/null) |
    python3 -c "import json,sys
arch = '?'
for l in sys.stdin:
    if l.startswith('threadpool:'): arch = next((d.get('architecture') for d in json.loads(l[11:]) if d.get('internal_api') == 'openblas'), '?')
    if l.startswith('SUMMARY'): d=json.loads(l[8:]); print(d['train_wall_s'], d['test_acc'], 'threads', d['blas_threads'], 'openblas', arch)"
}
echo "date: $(date -u '+%F %T') UTC, loadavg: $(cat /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for label in "ours actors sparse" "ours in-process sparse" "pytorch 1 thread" "pytorch 2 threads" "ours actors dense" "ours in-process dense"; do
    case "$label" in
      "ours actors sparse") out=$(ours "$label" 1 actors) ;;
      "ours in-process sparse") out=$(ours "$label" 1 in-process) ;;
      "ours actors dense") out=$(ours "$label" 0 actors) ;;
      "ours in-process dense") out=$(ours "$label" 0 in-process) ;;
      "pytorch 1 thread") out=$(torch 1) ;;
      "pytorch 2 threads") out=$(torch 2) ;;
    esac
    echo "round $r  $label: $out"
    times[$label]="${times[$label]:-} ${out%% *}"
  done
done
echo "loadavg after: $(cat /proc/loadavg)"
echo "medians (train seconds):"
for label in "ours actors sparse" "ours in-process sparse" "ours actors dense" "ours in-process dense" "pytorch 1 thread" "pytorch 2 threads"; do
  echo "  $label: $(echo ${times[$label]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
rm -rf "$run_dir"
