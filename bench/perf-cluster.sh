#!/bin/bash
# Where the CPU goes in the one-host cluster run of `bench -- cluster` (coordinator + 2 `worker` processes, the
# weak-scaling config): samples every CPU with perf for SECONDS (default 4) once epoch 5 has begun, then prints the
# share of each thread name and the top symbols. JIT code is named (perf map, no ReadyToRun, no W^X double mapping).
# Needs `perf` (Debian: linux-perf) and a Release build. Usage: bench/perf-cluster.sh [SECONDS] [extra `train` --set ...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}; shift || true
out=$(mktemp -d /tmp/perf-cluster.XXXXXX)
export DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0
dll=src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll
[ -f "$dll" ] || { echo "error: $dll does not exist; build src/ActorTrainer.Daemon -c Release first" >&2; exit 2; }
port=$((20000 + RANDOM % 20000))
seed="cluster.seed-nodes=[\"akka.tcp://actor-trainer@127.0.0.1:$port\"]"
pids=()
for i in 1 2; do
  dotnet "$dll" worker --set "$seed" --set worker.workers=1 --set worker.threads-per-worker=1 > "$out/worker$i.log" 2>&1 &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
dotnet "$dll" train --run-dir "$out/run" --config config/mnist-mlp.conf --set trainer.epochs=60 --set data.train-limit=51200 \
  --set data.test-limit=500 --set output.plots=false --set output.tensorboard=false --set output.save-model=false \
  --set trainer.per-shard-batch-size=128 --set trainer.shards-per-batch=2 --set trainer.runtime=actors \
  --set cluster.enabled=on --set cluster.port=$port --set "$seed" --set cluster.min-workers=2 "$@" > "$out/coordinator.log" 2>&1 &
coordinator=$!
for _ in $(seq 240); do grep -q "Epoch 5/" "$out/coordinator.log" && break; sleep 0.5; done
perf record -F 1999 -a -g -o "$out/perf.data" -- sleep "$secs" > /dev/null 2>&1
wait $coordinator
grep -o '"steps_per_second": [0-9.]*' "$out/run/summary.json"
perf report -i "$out/perf.data" --no-children --sort comm -g none 2>/dev/null | grep '%' | head -10
perf report -i "$out/perf.data" --no-children --sort comm,sym -g none 2>/dev/null | grep '%' | head -30 | cut -c1-160
echo "perf data and logs: $out"
