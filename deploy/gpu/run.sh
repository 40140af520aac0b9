#!/usr/bin/env bash
# Runs the packed `segcluster` (deploy/gpu/publish.sh) on a host without .NET. libtorch comes from
# SEGCLUSTER_LIBTORCH, or else from the torch package python3 imports (its torch/lib folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export DOTNET_ROOT="$here/dotnet"
if [ -z "${SEGCLUSTER_LIBTORCH:-}" ]; then
  if ! SEGCLUSTER_LIBTORCH="$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)"; then
    echo "run.sh: python3 cannot import torch; set SEGCLUSTER_LIBTORCH to a folder with libtorch.so" >&2
    exit 2
  fi
  export SEGCLUSTER_LIBTORCH
fi
# NVML (device memory in /metrics) numbers GPUs in PCI order; make CUDA agree.
export CUDA_DEVICE_ORDER="${CUDA_DEVICE_ORDER:-PCI_BUS_ID}"
exec "$DOTNET_ROOT/dotnet" "$here/segcluster/segcluster.dll" "$@"
