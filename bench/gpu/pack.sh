#!/usr/bin/env bash
# Packs everything bench/gpu/session.sh needs on the GPU machine (no .NET, no network there) into ONE folder for the
# device tool to carry (bench/README.md, "Taking the GPU figures"):
#   artifacts/gpu-session/segcluster-gpu.tar.xz  deploy/gpu/publish.sh's archive: gpu/segcluster (the CLI built with
#                                                TorchBackend=external), gpu/dotnet (this machine's .NET runtime), gpu/run.sh
#   artifacts/gpu-session/bench.tar.xz           gpu/bench: segcluster-bench built the same way, only the files that
#                                                differ from the CLI's; gpu/bench-shared.txt names the rest, which
#                                                session.sh hard-links from gpu/segcluster (the bench references the CLI)
#   artifacts/gpu-session/PACKED_FROM            the commit packed (git rev-parse HEAD) and whether the tree was dirty
# The working tree and the carried folder travel together and may not exceed 64 MiB: this fails when they would.
# Extra arguments go to both `dotnet publish` calls.
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=$((64 << 20))
session=artifacts/gpu-session
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

deploy/gpu/publish.sh "$@"
rm -rf artifacts/gpu/bench
dotnet publish bench/SegCluster.Bench -c Release -r linux-x64 --self-contained false -p:TorchBackend=external -o artifacts/gpu/bench "$@"
rm -f artifacts/gpu/bench/*.pdb

# Split the bench's files into those identical to the CLI's (listed, linked there) and its own (archived).
own=$(mktemp)
trap 'rm -f "$own"' EXIT
: > artifacts/gpu/bench-shared.txt
while IFS= read -r -d '' file; do
  name="${file#artifacts/gpu/bench/}"
  if cmp -s "$file" "artifacts/gpu/segcluster/$name"; then echo "$name" >> artifacts/gpu/bench-shared.txt
  else echo "gpu/bench/$name" >> "$own"; fi
done < <(find artifacts/gpu/bench -type f -print0)
echo "gpu/bench-shared.txt" >> "$own"
echo "bench: $(wc -l < "$own") own files archived, $(wc -l < artifacts/gpu/bench-shared.txt) shared with the CLI"

rm -rf "$session" && mkdir -p "$session"
ln -f artifacts/segcluster-gpu.tar.xz "$session/segcluster-gpu.tar.xz"
XZ_OPT="-9 -T0" tar -C artifacts -cJf "$session/bench.tar.xz" -T "$own"
# What the programs were built from, printed by session.sh and copied into its results: HEAD, and whether tracked or
# untracked (not ignored) files differed from it when packing (then the programs hold changes no commit has).
{
  echo "commit $(git rev-parse HEAD)"
  if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then echo "dirty yes"; else echo "dirty no"; fi
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$session/PACKED_FROM"
cat "$session/PACKED_FROM"

# What travels besides the carried folder: tracked files and untracked ones git does not ignore.
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
carried=$(du -sbL "$session" | cut -f1)
du -sh artifacts/gpu/segcluster artifacts/gpu/dotnet "$session"/*.tar.xz
echo "working tree $(mib "$tree") + carried $(mib "$carried") = $(mib $((tree + carried))) (limit 64 MiB)"
if [ $((tree + carried)) -gt "$limit" ]; then
  echo "pack.sh: the working tree and $session together exceed the device tool's 64 MiB ($((tree + carried)) bytes)" >&2
  exit 1
fi
echo "carry: $session   then run bench/gpu/session.sh on the GPU machine (bench/README.md)"
