#!/usr/bin/env bash
# The one command for the GPU machine (bench/cuda/README.md): ours and the PyTorch peers back to back in one run.
# Run from the repository root after the payload is set up:
#   . .devpayload/device-env.sh && bash bench/cuda/device-bench.sh [--ours-only|--peers-only] [ARGS for ours...]
# ARGS other than the two switches go to `dotnet $APPS/ActorTrainer.Bench.dll cuda`.
# Every step runs under `timeout $STEP_TIMEOUT` (default 240 s) and a failing step does not stop the next one.
# All output is also written to $OUT/device-bench.log when $OUT is set. Exit status: 0 when every step passed.
# Environment: PYTHON (default python3), STEP_TIMEOUT (default 240), MNIST_DIR (default /tmp/mnist); for smoke
# tests off the GPU: PEER_DEVICE (default cuda), PEER_ARGS (extra args for both peer runs, e.g. "--epochs 1"),
# PEER_LARGE_ARGS (extra args for the large run, e.g. "--large-batch 256 --large-width 512 --gemm-n 512").
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
cd "$root"

ours=1 peers=1 args=()
for a in "$@"; do
  case "$a" in
    --ours-only) peers=0 ;;
    --peers-only) ours=0 ;;
    *) args+=("$a") ;;
  esac
done
PYTHON=${PYTHON:-python3}
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
MNIST_DIR=${MNIST_DIR:-/tmp/mnist}
PEER_DEVICE=${PEER_DEVICE:-cuda}
read -r -a peer_args <<< "${PEER_ARGS:-}"
read -r -a large_args <<< "${PEER_LARGE_ARGS:-}"
steplog=$(mktemp)
results=()
failed=0

step() {  # step NAME CMD... : runs CMD under timeout, keeps its output, records its exit status
  local name=$1; shift
  echo
  echo "=== $name: $* ($(date -u +%H:%M:%S) UTC)"
  local t0=$SECONDS rc=0
  set +e
  timeout -k 10 "$STEP_TIMEOUT" "$@" 2>&1 | tee -a "$steplog"
  rc=${PIPESTATUS[0]}
  set -e
  local dt=$((SECONDS - t0))
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "=== $name: timed out after ${STEP_TIMEOUT} s"; fi
  echo "=== $name: rc=$rc, ${dt} s"
  results+=("$name rc=$rc ${dt}s")
  [ "$rc" = 0 ] || failed=1
}

main() {
  echo "=== device-bench $(date -u '+%Y-%m-%d %H:%M:%S') UTC; git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true)"
  echo "nproc: $(nproc)"
  echo "load: $(cat /proc/loadavg)"

  mkdir -p "$MNIST_DIR"
  for f in src/ActorTrainer.Core/Data/mnist/*.gz; do
    gunzip -c "$f" > "$MNIST_DIR/$(basename "$f" .gz)"
  done
  echo "mnist: $(ls "$MNIST_DIR" | tr '\n' ' ')"

  if [ "$ours" = 1 ]; then
    if [ -z "${APPS:-}" ] || ! command -v dotnet >/dev/null; then
      echo "=== ours: no dotnet or \$APPS: source .devpayload/device-env.sh first"
      results+=("ours rc=missing-runtime"); failed=1
    else
      echo "dotnet: $(dotnet --list-runtimes | head -1); CUBLAS_LIB=${CUBLAS_LIB:-none}"
      step ours dotnet "$APPS/ActorTrainer.Bench.dll" cuda ${args[@]+"${args[@]}"}
    fi
  fi
  if [ "$peers" = 1 ]; then
    echo "python: $($PYTHON -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 || true)"
    step torch-reference "$PYTHON" -u bench/cuda/torch_peer.py "$MNIST_DIR" --device "$PEER_DEVICE" --mode both \
      ${peer_args[@]+"${peer_args[@]}"}
    step torch-large "$PYTHON" -u bench/cuda/torch_peer.py "$MNIST_DIR" --device "$PEER_DEVICE" --large \
      ${peer_args[@]+"${peer_args[@]}"} ${large_args[@]+"${large_args[@]}"}
  fi

  echo
  echo "=== SUMMARY lines"
  grep -a '^SUMMARY' "$steplog" || echo "(none)"
  echo "=== steps: ${results[*]}"
  rm -f "$steplog"
  return "$failed"
}

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  main 2>&1 | tee "$OUT/device-bench.log"
else
  main
fi
