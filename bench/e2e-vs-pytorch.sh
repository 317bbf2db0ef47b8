#!/usr/bin/env bash
# End to end, side by side: README's `train` (the reference model, 5 epochs, full MNIST, seed 1) against the PyTorch
# peer (../shared/peers/w1_torch.py, 1 and 2 threads), alternating, ROUNDS rounds; prints every run's train seconds
# and the medians. Ours runs the default runtime and in-process, each with the sparse-operand GEMM path on and off
# (ACTORTRAINER_SPARSE_GEMM=0: the dense kernels; the weights are the same bits either way).
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
    --set output.tensorboard=false --set output.save-model=false --set trainer.verbose=0 > /dev/null 2> "$run_dir/err" ||
    { echo "error: ours ($1) failed:" >&2; cat "$run_dir/err" >&2; exit 1; }
  python3 -c "import json,sys; d=json.load(open('$run_dir/r/summary.json')); print(d['train_seconds'], d['test_accuracy'], d['weights_sha256'][:16])"
}
torch() {  # threads
  (cd "$peers" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE MNIST_DIR="$mnist" /usr/bin/python3 w1_torch.py "$1" 2>/dev/null) |
    python3 -c "import json,sys
for l in sys.stdin:
    if l.startswith('SUMMARY'): d=json.loads(l[8:]); print(d['train_wall_s'], d['test_acc'], 'threads', d['blas_threads'])"
}
echo "date: $(date -u '+%F %T') UTC, loadavg: $(cat /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for label in "ours default sparse" "ours in-process sparse" "pytorch 1 thread" "pytorch 2 threads" "ours default dense" "ours in-process dense"; do
    case "$label" in
      "ours default sparse") out=$(ours "$label" 1 actors) ;;
      "ours in-process sparse") out=$(ours "$label" 1 in-process) ;;
      "ours default dense") out=$(ours "$label" 0 actors) ;;
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
for label in "ours default sparse" "ours in-process sparse" "ours default dense" "ours in-process dense" "pytorch 1 thread" "pytorch 2 threads"; do
  echo "  $label: $(echo ${times[$label]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
rm -rf "$run_dir"
