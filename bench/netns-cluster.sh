#!/usr/bin/env bash
# A cluster whose nodes each have their own network interface of a given speed, on one Linux machine (root): every
# process runs in its own network namespace, joined to the others through a bridge by a veth pair shaped to RATE in
# both directions (tc tbf), so a node's link — not loopback's memory copy — limits what it moves per step. Compares
# the parameter-server slices in the coordinator with the same slices on `ps` processes, one beside each worker
# (cluster.ps-nodes), in the weak-scaling config (per-shard batch 128, one shard per worker), alternating.
#
# usage: sudo [WORKERS=1] [COMPRESS=off] [DLL_B=PATH | HOSTED=1] bash bench/netns-cluster.sh [RATE=1gbit] [ROUNDS=3] [EPOCHS=2] [TRAIN_LIMIT=25600]
# WORKERS: gradient workers per worker node (1 thread each; shards per batch = 2 × WORKERS). DLL_B: instead of the
# two layouts, compare the ps layout of this build (a) with that of another ActorTrainer.Daemon.dll (b), alternating.
# HOSTED=1: compare the ps processes beside the workers with worker nodes that host the slices themselves
# (worker.hosts-slices = on, no ps processes).
# Needs ip and tc (iproute2) and a Release build of src/ActorTrainer.Daemon. Prints each run's steps_per_second and
# weights_sha256 (summary.json) and the MB per step through each node's link (both directions), then the medians.
# Removes its namespaces, bridge and processes on exit.
set -euo pipefail
RATE=${1:-1gbit}; ROUNDS=${2:-3}; EPOCHS=${3:-2}; LIMIT=${4:-25600}; WORKERS=${WORKERS:-1}; SHARDS=$((2 * WORKERS))
DLL_A=$(pwd)/src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll; DLL=$DLL_A
[ -f "$DLL" ] || { echo "error: build src/ActorTrainer.Daemon -c Release first ($DLL)" >&2; exit 2; }
[ -z "${DLL_B:-}" ] || [ -f "$DLL_B" ] || { echo "error: DLL_B '$DLL_B' does not exist" >&2; exit 2; }
STEPS=$((EPOCHS * ((LIMIT + 128 * SHARDS - 1) / (128 * SHARDS))))
NODES=(coord w1 w2); OUT=$(mktemp -d /tmp/netns-cluster.XXXX); PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  for n in "${NODES[@]}"; do ip netns del "at-$n" 2>/dev/null || true; done
  ip link del at-br 2>/dev/null || true
}
trap cleanup EXIT
ip link add at-br type bridge; ip addr add 10.9.0.254/24 dev at-br; ip link set at-br up
i=1
for n in "${NODES[@]}"; do
  ip netns add "at-$n"
  ip link add "at-$n-h" type veth peer name eth0 netns "at-$n"
  ip link set "at-$n-h" master at-br up
  ip netns exec "at-$n" ip addr add "10.9.0.$i/24" dev eth0
  ip netns exec "at-$n" ip link set eth0 up
  ip netns exec "at-$n" ip link set lo up
  # the node's link: RATE out of the node and RATE into it
  ip netns exec "at-$n" tc qdisc add dev eth0 root tbf rate "$RATE" burst 512kb latency 100ms
  tc qdisc add dev "at-$n-h" root tbf rate "$RATE" burst 512kb latency 100ms
  i=$((i + 1))
done
SEED='cluster.seed-nodes=["akka.tcp://actor-trainer@10.9.0.1:4053"]'
COMMON=(--set "$SEED" --set cluster.data-plane.unix-sockets=off --set cluster.port=0)
start() { # namespace, log, args...
  local ns=$1 log=$2; shift 2
  ip netns exec "at-$ns" dotnet "$DLL" "$@" > "$OUT/$log" 2>&1 & PIDS+=($!)
}
bytes() { # the bytes through each node's link so far (both directions), space-separated
  for n in "${NODES[@]}"; do
    echo $(( $(cat /sys/class/net/at-$n-h/statistics/rx_bytes) + $(cat /sys/class/net/at-$n-h/statistics/tx_bytes) ))
  done | tr '\n' ' '
}
run() { # name, ps-nodes (0, 2 or hosted)[, daemon dll]
  local name=$1 ps=$2 before=${#PIDS[@]} b0 b1 hosts=off
  DLL=${3:-$DLL_A}
  if [ "$ps" = hosted ]; then hosts=on; ps=2; fi
  start w1 "$name-w1.log" worker "${COMMON[@]}" --set cluster.hostname=10.9.0.2 --set worker.workers="$WORKERS" --set worker.threads-per-worker=1 --set worker.hosts-slices=$hosts
  start w2 "$name-w2.log" worker "${COMMON[@]}" --set cluster.hostname=10.9.0.3 --set worker.workers="$WORKERS" --set worker.threads-per-worker=1 --set worker.hosts-slices=$hosts
  if [ "$ps" -gt 0 ] && [ $hosts = off ]; then
    start w1 "$name-ps1.log" ps "${COMMON[@]}" --set cluster.hostname=10.9.0.2
    start w2 "$name-ps2.log" ps "${COMMON[@]}" --set cluster.hostname=10.9.0.3
  fi
  b0=($(bytes))
  ip netns exec at-coord dotnet "$DLL" train --config config/mnist-mlp.conf --run-dir "$OUT/$name" \
    --set trainer.epochs="$EPOCHS" --set data.train-limit="$LIMIT" --set data.test-limit=500 --set output.plots=false \
    --set output.tensorboard=false --set output.save-model=false --set trainer.per-shard-batch-size=128 \
    --set trainer.shards-per-batch="$SHARDS" --set trainer.runtime=actors --set cluster.enabled=on --set cluster.hostname=10.9.0.1 \
    --set cluster.port=4053 --set "$SEED" --set cluster.min-workers="$SHARDS" --set cluster.ps-nodes="$ps" \
    --set cluster.data-plane.unix-sockets=off --set cluster.data-plane.compress="${COMPRESS:-off}" > "$OUT/$name.log" 2>&1
  b1=($(bytes))
  for p in "${PIDS[@]:$before}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=("${PIDS[@]:0:$before}")
  python3 - "$OUT/$name/summary.json" "$name" "$STEPS" "${b0[*]}" "${b1[*]}" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
mb = [(int(b) - int(a)) / int(sys.argv[3]) / 1e6 for a, b in zip(sys.argv[4].split(), sys.argv[5].split())]
print(f"{sys.argv[2]}: {s['steps_per_second']:.1f} steps/s, weights_sha256 {s['weights_sha256'][:12]}, "
      f"MB per step through the links of coordinator / w1 / w2: {' / '.join(f'{m:.2f}' for m in mb)}")
PY
}
A=coordinator-slices; B=ps-nodes; PS_A=0; PS_B=2; DLL_RUN_B=$DLL_A
[ -z "${DLL_B:-}" ] || { A=ps-nodes-a; B=ps-nodes-b; PS_A=2; DLL_RUN_B=$DLL_B; }
[ -z "${HOSTED:-}" ] || { A=ps-nodes; B=hosted-slices; PS_A=2; PS_B=hosted; }
echo "netns cluster: each node's link $RATE each way; coordinator + 2 worker nodes of $WORKERS worker(s) (1 thread each); $A vs $B; compress ${COMPRESS:-off}; loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then run "$A-$r" $PS_A; run "$B-$r" $PS_B "$DLL_RUN_B"; else run "$B-$r" $PS_B "$DLL_RUN_B"; run "$A-$r" $PS_A; fi
done 2>&1 | tee "$OUT/results.txt"
python3 - "$OUT/results.txt" "$A" "$B" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"([a-z-]+?)-\d+: ([\d.]+) steps/s, weights_sha256 (\w+)", line)
    if m: runs.setdefault(m[1], []).append((float(m[2]), m[3]))
a, b = sys.argv[2], sys.argv[3]
med = {k: statistics.median(v[0] for v in vs) for k, vs in runs.items()}
print(f"median: {a} {med[a]:.1f} steps/s, {b} {med[b]:.1f} -> {med[b] / med[a]:.2f}x; "
      f"digests: {sorted({d for vs in runs.values() for _, d in vs})}")
PY
echo "loadavg after $(cut -d' ' -f1-3 /proc/loadavg); logs in $OUT"
