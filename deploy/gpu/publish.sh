#!/usr/bin/env bash
# Packs SegCluster for a GPU host that has PyTorch (its torch/lib holds libtorch + CUDA) but no .NET:
#   artifacts/gpu/segcluster/   CLI published with -p:TorchBackend=external (TorchSharp without libtorch), linux-x64 natives only
#   artifacts/gpu/dotnet/       this machine's .NET host + Microsoft.NETCore.App + Microsoft.AspNetCore.App
#   artifacts/gpu/run.sh        runs `segcluster` there with libtorch from python3's torch
#   artifacts/segcluster-gpu.tar.xz  the three above (xz: the GPU machine takes at most 64 MiB)
# On the GPU host:  tar xJf segcluster-gpu.tar.xz && gpu/run.sh quickstart --device cuda:0
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/gpu
rm -rf "$out" && mkdir -p "$out"

dotnet publish src/SegCluster.Cli -c Release -r linux-x64 --self-contained false -p:TorchBackend=external -o "$out/segcluster" "$@"
rm -rf "$out/segcluster"/*.pdb

# The runtime that runs the app here: the host (dotnet, host/fxr) and the two shared frameworks it needs.
root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
version="$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([0-9.]*\) .*/\1/p' | sort -V | tail -1)"
aspnet="$(dotnet --list-runtimes | sed -n 's/^Microsoft.AspNetCore.App \([0-9.]*\) .*/\1/p' | sort -V | tail -1)"
mkdir -p "$out/dotnet/shared/Microsoft.NETCore.App" "$out/dotnet/shared/Microsoft.AspNetCore.App"
cp "$root/dotnet" "$out/dotnet/"
cp -r "$root/host" "$out/dotnet/"
cp -r "$root/shared/Microsoft.NETCore.App/$version" "$out/dotnet/shared/Microsoft.NETCore.App/"
cp -r "$root/shared/Microsoft.AspNetCore.App/$aspnet" "$out/dotnet/shared/Microsoft.AspNetCore.App/"

cp deploy/gpu/run.sh "$out/run.sh"
chmod +x "$out/run.sh"
XZ_OPT="-9 -T0" tar -C artifacts -cJf artifacts/segcluster-gpu.tar.xz gpu
du -sh "$out/segcluster" "$out/dotnet" artifacts/segcluster-gpu.tar.xz
