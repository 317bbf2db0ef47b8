#!/usr/bin/env bash
# README's `train` (plots, TensorBoard and model off) with trainer.runtime = actors and = in-process, alternating (the
# order swapped every other round), ROUNDS times each; prints each run's summary.json train_seconds and weights_sha256,
# each round's actors / in-process time ratio, and their median (the default `auto` runs in-process where the auto
# worker layout is the in-process partition, as on 2 cores, and on the actor runtime where it is not, e.g. 2 shards on
# 4 or more cores: 2 workers of several threads). Build the daemon first:
#   dotnet build src/ActorTrainer.Daemon -c Release
# Usage: bash bench/runtime-pairs.sh [ROUNDS=6] [train options, e.g. --set trainer.epochs=2]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-6}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS must be a positive integer, got '$rounds' (usage: bash bench/runtime-pairs.sh [ROUNDS] [train options])" >&2; exit 2; }
shift $(( $# >= 1 ? 1 : 0 ))
dll=$here/src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll
[ -f "$dll" ] || { echo "error: $dll not found; build it first: dotnet build src/ActorTrainer.Daemon -c Release" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "date: $(date -u '+%F %T') UTC, loadavg: $(cat /proc/loadavg), commit $(git -C "$here" rev-parse --short HEAD)"
ratios=()
for r in $(seq 1 "$rounds"); do
  order="actors in-process"; [ $((r % 2)) = 0 ] && order="in-process actors"
  declare -A secs=()
  for v in $order; do
    rm -rf "$out/run"
    (cd "$here" && dotnet "$dll" train --run-dir "$out/run" --set trainer.verbose=0 --set output.plots=false \
      --set output.tensorboard=false --set output.save-model=false --set trainer.runtime=$v "$@" > /dev/null 2> "$out/err") ||
      { echo "error: the $v run failed:" >&2; cat "$out/err" >&2; exit 1; }
    read -r s sha < <(python3 -c "import json; d=json.load(open('$out/run/summary.json')); print(d['train_seconds'], d['weights_sha256'][:16])")
    secs[$v]=$s
    echo "round $r $v: train_seconds $s, weights_sha256 $sha"
  done
  ratio=$(python3 -c "print('%.3f' % (${secs[actors]} / ${secs[in-process]}))")
  ratios+=("$ratio")
  echo "round $r: actors / in-process time $ratio"
  unset secs
done
python3 -c "import statistics, sys; r=[float(x) for x in sys.argv[1:]]; print('median actors / in-process time: %.3f over %d rounds (below 1: actors faster)' % (statistics.median(r), len(r)))" "${ratios[@]}"
