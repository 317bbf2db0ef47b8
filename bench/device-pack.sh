#!/usr/bin/env bash
# Packs the bench app and the daemon for the GPU machine (bench/device-all.sh) within the device tool's 64 MiB:
# ../shared/device/pack, then
#   - leaves out BenchmarkDotNet's disassembler, tracing and Roslyn files (only `bench -- bdn` loads them) and
#     SkiaSharp's native libraries (plots; bench/device-all.sh runs `train` with output.plots/tensorboard off);
#   - with --aspnet (what the daemon needs: it is an ASP.NET Core app), adds the ASP.NET Core shared framework without
#     its MVC, Razor, Blazor, SignalR, Identity, IIS and HttpSys assemblies (none of which the daemon loads).
# Every file left out is also taken out of the *.deps.json that names it, so the host does not look for it.
#   usage (repository root):  bash bench/device-pack.sh [--aspnet] PROJECT...
#   e.g.                      bash bench/device-pack.sh --aspnet bench/ActorTrainer.Bench src/ActorTrainer.Daemon
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
aspnet=0; [ "${1:-}" = --aspnet ] && { aspnet=1; shift; }
[ $# -ge 1 ] || { echo "usage: $0 [--aspnet] PROJECT..."; exit 2; }
../shared/device/pack "$@" > /tmp/device-pack.log || { cat /tmp/device-pack.log; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

prune() {  # prune DIR PATTERN... : deletes matching files under DIR and their entries in DIR's *.deps.json
  python3 - "$@" <<'EOF'
import json, os, sys, glob, shutil
d, pats = sys.argv[1], sys.argv[2:]
bad = lambda p: any(os.path.basename(p).startswith(x) for x in pats) or p.split('/')[0] in ("arm64", "amd64", "x86")
n = 0
for r, _, fs in os.walk(d):
    for f in fs:
        if bad(os.path.relpath(os.path.join(r, f), d)) or bad(f): os.remove(os.path.join(r, f)); n += 1
for sub in ("arm64", "amd64", "x86"): shutil.rmtree(os.path.join(d, sub), ignore_errors=True)
for dj in glob.glob(os.path.join(d, "*.deps.json")):
    j = json.load(open(dj))
    for tgt in j["targets"].values():
        for pkg in tgt.values():
            for kind in ("runtime", "native", "runtimeTargets", "resources"):
                for k in [k for k in pkg.get(kind, {}) if bad(k)]: del pkg[kind][k]
    json.dump(j, open(dj, "w"), indent=1)
print(f"pruned {n} files from {d}")
EOF
}

mkdir "$work/apps"; tar -C "$work/apps" -xJf .devpayload/apps.tar.xz
prune "$work/apps" Dia2Lib Gee.External.Capstone Iced.dll Microsoft.CodeAnalysis Microsoft.Diagnostics.FastSerialization \
  Microsoft.Diagnostics.NETCore.Client Microsoft.Diagnostics.Runtime Microsoft.Diagnostics.Tracing.TraceEvent libcapstone \
  msdia140 TraceReloggerLib KernelTraceControl libSkiaSharp libHarfBuzzSharp
tar -C "$work/apps" -cf - . | xz -T0 -9 > .devpayload/apps.tar.xz
if [ "$aspnet" = 1 ]; then
  dn=$(dirname "$(readlink -f "$(command -v dotnet)")")
  mkdir "$work/rt"; tar -C "$work/rt" -xJf .devpayload/dotnet-runtime.tar.xz
  asp=$(ls -d "$dn"/shared/Microsoft.AspNetCore.App/* | sort -V | tail -1)
  mkdir -p "$work/rt/shared/Microsoft.AspNetCore.App"; cp -r "$asp" "$work/rt/shared/Microsoft.AspNetCore.App/"
  prune "$work/rt/shared/Microsoft.AspNetCore.App/$(basename "$asp")" Microsoft.AspNetCore.Mvc Microsoft.AspNetCore.Components \
    Microsoft.AspNetCore.Identity Microsoft.Extensions.Identity Microsoft.AspNetCore.SignalR Microsoft.AspNetCore.Razor \
    Microsoft.AspNetCore.Server.HttpSys Microsoft.AspNetCore.Server.IIS Microsoft.AspNetCore.OutputCaching \
    System.Security.Cryptography.Xml Microsoft.AspNetCore.Http.Connections Microsoft.AspNetCore.Server.Kestrel.Transport.Quic
  tar -C "$work/rt" -cf - . | xz -T0 -9 > .devpayload/dotnet-runtime.tar.xz
fi
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
pay=$(du -sb .devpayload | cut -f1)
echo "packed .devpayload: $((pay / 1048576)) MiB; with the working tree $(((pay + tree) / 1048576)) MiB (limit 64)"
