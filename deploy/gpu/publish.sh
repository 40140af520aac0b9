#!/usr/bin/env bash
# Packs SegCluster for a GPU host that has PyTorch (its torch/lib holds libtorch + CUDA) but no .NET:
#   artifacts/gpu/segcluster/   CLI published with -p:TorchBackend=external (TorchSharp without libtorch), linux-x64 natives only
#   artifacts/gpu/dotnet/       this machine's .NET host + Microsoft.NETCore.App + Microsoft.AspNetCore.App (newest of
#                               the app's major, see runtime-version.sh)
#   artifacts/gpu/run.sh        runs `segcluster` there with libtorch from python3's torch
#   artifacts/segcluster-gpu.tar.xz  the three above (xz: the GPU machine takes at most 64 MiB)
# On the GPU host:  tar xJf segcluster-gpu.tar.xz && gpu/run.sh quickstart --device cuda:0
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/gpu
rm -rf "$out" && mkdir -p "$out"

# The runtime that runs the app here: the host (dotnet, host/fxr) and the two shared frameworks it needs, each the
# newest installed of the major the app targets (runtime-version.sh; it fails before the publish when none is).
root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
version="$(deploy/gpu/runtime-version.sh Microsoft.NETCore.App)"
aspnet="$(deploy/gpu/runtime-version.sh Microsoft.AspNetCore.App)"

# SegClusterPortableTorchSharp: mark libLibTorchSharp.so's GLIBCXX_3.4.32 need weak even when this machine's libstdc++
# has it (build/TorchSharpGlibcxxFix.targets), so a package built on a newer distro still loads on an Ubuntu 22.04 /
# Debian 12 GPU host.
dotnet publish src/SegCluster.Cli -c Release -r linux-x64 --self-contained false -p:TorchBackend=external \
  -p:SegClusterPortableTorchSharp=true -o "$out/segcluster" "$@"
rm -rf "$out/segcluster"/*.pdb

mkdir -p "$out/dotnet/shared/Microsoft.NETCore.App" "$out/dotnet/shared/Microsoft.AspNetCore.App"
cp "$root/dotnet" "$out/dotnet/"
cp -r "$root/host" "$out/dotnet/"
cp -r "$root/shared/Microsoft.NETCore.App/$version" "$out/dotnet/shared/Microsoft.NETCore.App/"
cp -r "$root/shared/Microsoft.AspNetCore.App/$aspnet" "$out/dotnet/shared/Microsoft.AspNetCore.App/"

cp deploy/gpu/run.sh "$out/run.sh"
chmod +x "$out/run.sh"
XZ_OPT="-9 -T0" tar -C artifacts -cJf artifacts/segcluster-gpu.tar.xz gpu
du -sh "$out/segcluster" "$out/dotnet" artifacts/segcluster-gpu.tar.xz
