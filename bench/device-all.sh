#!/usr/bin/env bash
# Everything this project measures on the lent GPU machine (16 cores, one NVIDIA GPU), in one device command:
#   here:  ../shared/device/pack bench/ActorTrainer.Bench src/ActorTrainer.Daemon   (keep it under 64 MiB; see
#          bench/RESULTS.md for pruning BenchmarkDotNet's files from the payload)
#   there: . .devpayload/device-env.sh && bash bench/device-all.sh [STEP...]          (carry [".devpayload"])
# Steps (default all, in this order; each under its own timeout, within DEADLINE seconds overall, default 420):
#   cuda      the GPU backend's bench (bench/cuda/device-bench.sh --ours-only: reference model, inference, large MLP)
#   cudatrain README's `train` on the GPU (in-process) twice (run-to-run digest), `evaluate` on the GPU, and one epoch
#             with the actor runtime's GPU worker
#   scaling   `bench -- scaling` on all cores (issue 11: reference and weak-scaling tables, parameter-server share)
#   peers     the PyTorch peers on the GPU (bench/cuda/device-bench.sh --peers-only)
#   cpuref    the reference config, 2 epochs, in-process and `workers = auto`, beside PyTorch with all CPU threads
#   cpu2      issue 9's end-to-end comparison on 2 of the cores (taskset): README's `train` (5 epochs) beside PyTorch
#             with 1 and 2 threads
#   accuracy  `bench -- scaling --only none --accuracy` (async accuracy per staleness policy, 2–16 workers)
#   cluster   `bench -- cluster` (issue 12: coordinator + worker processes against one process)
# Logs go to $OUT/<step>.log (at most 8 files come back) and to stdout.
set -u
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd); cd "$root"
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT"
DEADLINE=$((SECONDS + ${DEADLINE:-420}))
steps=("$@"); [ ${#steps[@]} -gt 0 ] || steps=(cuda cudatrain scaling peers cpuref cpu2 accuracy cluster)
bench() { dotnet "$APPS/ActorTrainer.Bench.dll" "$@"; }
daemon() { dotnet "$APPS/ActorTrainer.Daemon.dll" "$@"; }
quiet=(--set output.plots=false --set output.tensorboard=false)   # no SkiaSharp needed (the payload may leave it out)
digest() { grep -o '"\(weights_sha256\|test_accuracy\|train_seconds\|backend\)": *[^,]*' "$(ls -td runs/*/ | head -1)summary.json" | tr '\n' ' '; echo; }

run_step() {  # run_step CAP NAME: runs step_NAME under min(CAP, time left - 5 s), logs to $OUT/NAME.log
  local cap=$1 name=$2 left=$((DEADLINE - SECONDS - 5))
  [ "$left" -lt "$cap" ] && cap=$left
  if [ "$cap" -lt 15 ]; then echo "=== $name: skipped (no time left)" | tee -a "$OUT/summary.log"; return; fi
  echo "=== $name (cap ${cap} s) $(date -u +%H:%M:%S) UTC; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/$name.log"
  local t0=$SECONDS
  timeout -k 5 "$cap" bash -c "$(declare -p quiet); $(declare -f bench daemon digest step_$name); step_$name" 2>&1 | tee -a "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: rc=$rc, $((SECONDS - t0)) s" | tee -a "$OUT/$name.log" "$OUT/summary.log"
}

step_cuda() { STEP_TIMEOUT=110 OUT= bash bench/cuda/device-bench.sh --ours-only; }
step_cudatrain() {
  local k=(--set trainer.backend=cuda --set trainer.runtime=in-process "${quiet[@]}")
  for i in 1 2; do daemon train "${k[@]}" || echo "train rc=$?"; digest; done
  daemon evaluate --model "$(ls -td runs/*/ | head -1)model" --set trainer.backend=cuda || echo "evaluate rc=$?"
  daemon train --set trainer.backend=cuda --set trainer.epochs=1 --set trainer.verbose=2 "${quiet[@]}" || echo "train (actors) rc=$?"; digest
}
step_scaling() { bench scaling --rounds 3; }
step_peers() { STEP_TIMEOUT=60 OUT= bash bench/cuda/device-bench.sh --peers-only; }
step_cpuref() {
  local k kv a
  for k in "trainer.runtime=in-process" "trainer.workers=auto" "trainer.workers=16 trainer.shards-per-batch=16"; do
    a=(); for kv in $k; do a+=(--set "$kv"); done
    daemon train --set trainer.epochs=2 "${a[@]}" --set trainer.verbose=2 "${quiet[@]}" || echo "train rc=$?"; digest
  done
  python3 -u bench/cuda/torch_peer.py /tmp/mnist --device cpu --threads "$(nproc)" --epochs 2 --mode eager --infer-reps 3
}
step_cpu2() {
  taskset -c 0,1 dotnet "$APPS/ActorTrainer.Daemon.dll" train "${quiet[@]}" --set trainer.verbose=2 || echo "train rc=$?"; digest
  for t in 1 2; do
    taskset -c 0,1 python3 -u bench/cuda/torch_peer.py /tmp/mnist --device cpu --threads $t --epochs 5 --mode eager --infer-reps 3
  done
}
step_accuracy() { bench scaling --only none --accuracy; }
step_cluster() { bench cluster --rounds 3 --workers 2 --dll "$APPS/ActorTrainer.Daemon.dll"; }

{
  echo "device-all $(date -u '+%Y-%m-%d %H:%M:%S') UTC; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)'; lscpu | grep -o -w -E 'avx512f|avx2|fma|amx_tile' | sort -u | tr '\n' ' '; echo
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1
  echo "load $(cat /proc/loadavg)"
} | tee "$OUT/summary.log"
[ -f /tmp/mnist/train-images-idx3-ubyte ] || {       # the PyTorch peers read the raw IDX files
  mkdir -p /tmp/mnist; for f in src/ActorTrainer.Core/Data/mnist/*.gz; do gunzip -c "$f" > "/tmp/mnist/$(basename "$f" .gz)"; done; }
caps=(cuda:110 cudatrain:90 scaling:150 peers:130 cpuref:60 cpu2:90 accuracy:90 cluster:90)
for s in "${steps[@]}"; do
  cap=90; for c in "${caps[@]}"; do [ "${c%%:*}" = "$s" ] && cap=${c#*:}; done
  declare -F "step_$s" > /dev/null || { echo "unknown step '$s' (cuda cudatrain scaling peers cpuref cpu2 accuracy cluster)"; exit 2; }
  run_step "$cap" "$s"
done
