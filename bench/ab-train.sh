#!/usr/bin/env bash
# Old build against this one, alternating: README's `train` (plots, TensorBoard and model off) ROUNDS times each,
# printing the whole process's wall seconds, summary.json's train_seconds and weights_sha256 per run.
# OLD_DIR: a checkout of the old commit with a Release build of the daemon, e.g.
#   git worktree add /tmp/wt-old <commit> && (cd /tmp/wt-old && dotnet build src/ActorTrainer.Daemon -c Release)
# Usage: bash bench/ab-train.sh OLD_DIR [ROUNDS=3] [train options, e.g. --set trainer.epochs=2]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: bash bench/ab-train.sh OLD_DIR [ROUNDS] [train options]}
rounds=${2:-3}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS must be a positive integer, got '$rounds' (usage: bash bench/ab-train.sh OLD_DIR [ROUNDS] [train options])" >&2; exit 2; }
shift $(( $# >= 2 ? 2 : 1 ))
dll=src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll
for d in "$old" "$here"; do
  [ -f "$d/$dll" ] || { echo "error: $d/$dll not found; build it first: (cd $d && dotnet build src/ActorTrainer.Daemon -c Release)" >&2; exit 2; }
done
out=$(mktemp -d)
echo "date: $(date -u '+%F %T') UTC, loadavg: $(cat /proc/loadavg); old = $old ($(git -C "$old" rev-parse --short HEAD)), new = $here ($(git -C "$here" rev-parse --short HEAD))"
for r in $(seq 1 "$rounds"); do
  for v in old new; do
    d=$([ $v = old ] && echo "$old" || echo "$here")
    rm -rf "$out/run"
    t0=$(date +%s.%N)
    (cd "$d" && dotnet "$dll" train --run-dir "$out/run" --set trainer.verbose=0 --set output.plots=false \
      --set output.tensorboard=false --set output.save-model=false "$@" > /dev/null 2> "$out/err") ||
      { echo "error: $v run failed:" >&2; cat "$out/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    python3 -c "import json; d=json.load(open('$out/run/summary.json')); print('round $r $v: wall %.2f s, train_seconds %s, weights_sha256 %s' % ($t1 - $t0, d['train_seconds'], d['weights_sha256'][:16]))"
  done
done
rm -rf "$out"
