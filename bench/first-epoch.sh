#!/usr/bin/env bash
# Start-up of README's `train` under several environment settings, alternating: seconds from the command to the
# "Epoch 1/5" line (the progress bar's first epoch header), per run and the median per setting; all outputs on.
# Each SETTING is a space-separated list of VAR=value assignments ("" = the defaults), e.g.
#   bash bench/first-epoch.sh 5 "" "ACTORTRAINER_HUGE_PAGES=1 ACTORTRAINER_PREFAULT=0" "ACTORTRAINER_PREFAULT=0"
# Needs a Release build of the daemon: dotnet build src/ActorTrainer.Daemon -c Release
# Usage: bash bench/first-epoch.sh ROUNDS SETTING...
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:?usage: bash bench/first-epoch.sh ROUNDS SETTING...}
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: ROUNDS must be a positive integer, got '$rounds' (usage: bash bench/first-epoch.sh ROUNDS SETTING...)" >&2; exit 2; }
shift
[ $# -ge 1 ] || { echo "error: name at least one SETTING (\"\" for the defaults)" >&2; exit 2; }
for s in "$@"; do
  for a in $s; do [[ "$a" =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || { echo "error: setting '$s': '$a' is not VAR=value" >&2; exit 2; }; done
done
dll=$here/src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll
[ -f "$dll" ] || { echo "error: $dll not found; build it first: dotnet build src/ActorTrainer.Daemon -c Release" >&2; exit 2; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
echo "date: $(date -u '+%F %T') UTC, loadavg: $(cat /proc/loadavg), commit $(git -C "$here" rev-parse --short HEAD)"
for r in $(seq 1 "$rounds"); do
  i=0
  for s in "$@"; do
    rm -rf "$out/run"
    t0=$(date +%s.%N)
    rm -f "$out/first"
    # shellcheck disable=SC2086
    if ! (cd "$here" && env $s dotnet "$dll" train --run-dir "$out/run" 2>&1) | tee "$out/log" |
         { if grep -q -m1 "Epoch 1/5"; then date +%s.%N > "$out/first"; fi; cat > /dev/null; }; then
      echo "error: setting '$s': the run failed:" >&2; cat "$out/log" >&2; exit 1
    fi
    [ -s "$out/first" ] || { echo "error: setting '$s': no 'Epoch 1/5' line:" >&2; cat "$out/log" >&2; exit 1; }
    first=$(cat "$out/first")
    secs=$(echo "$first - $t0" | bc)
    echo "$i $secs" >> "$out/times"
    printf 'round %d, setting "%s": first epoch after %.2f s, test_accuracy %s\n' "$r" "$s" "$secs" \
      "$(python3 -c "import json; print(json.load(open('$out/run/summary.json'))['test_accuracy'])")"
    i=$((i + 1))
  done
done
i=0
for s in "$@"; do
  printf 'median, setting "%s": %.2f s\n' "$s" "$(awk -v k=$i '$1 == k {print $2}' "$out/times" | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')"
  i=$((i + 1))
done
