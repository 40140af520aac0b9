#!/usr/bin/env bash
# Takes the GPU figures of issues 9, 10 and 15 in one device run of at most 9 minutes (bench/README.md, "Taking the
# GPU figures"). Run from the repository root with artifacts/gpu-session/ (bench/gpu/pack.sh) beside it.
#   bench/gpu/session.sh            on the GPU machine: cuda:0, full sizes
#   bench/gpu/session.sh --dry-run  the same steps on CPU with tiny sizes (tests this script where there is no GPU)
# Steps run in order of value; each has its own timeout, cut to what is left of the whole budget
# (SESSION_BUDGET_S, default 540 s), and a failing or skipped step is logged and the next one runs.
# SESSION_STEPS=name,name runs only those steps (names as in the summary, or a group: amp-channels-last, amp-contiguous),
# e.g. to repeat one in a second call.
# SESSION_LIBTORCH_WIRING=1 puts torch/lib on LD_LIBRARY_PATH and links it beside libLibTorchSharp.so before the first
# step (PLATFORM.md's H100 recipe); without it that wiring is only the retry after a failed first quickstart.
# Results go to $OUT (default artifacts/gpu-session-out), 7 files: session.log (everything printed), PACKED_FROM (the
# commit pack.sh built from), quickstart.json, amp-segcluster.json, amp-pytorch.json, allreduce.json (bundles, below)
# and summary.json. The last lines printed are a summary: the steps, then bench/gpu/summary.py's figures.
set -uo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  "") dry=0 ;;
  --dry-run) dry=1 ;;
  *) echo "usage: bench/gpu/session.sh [--dry-run]" >&2; exit 2 ;;
esac
begin=$SECONDS
budget=${SESSION_BUDGET_S:-540}
reserve=15  # a killed step's grace (timeout -k 5) and the summary
carried=artifacts/gpu-session
if [ -n "${OUT:-}" ]; then out=$OUT; else out=artifacts/gpu-session-out; rm -rf "$out"; fi
mkdir -p "$out"
exec > >(tee -a "$out/session.log") 2>&1
tee_pid=$!

for archive in segcluster-gpu.tar.xz bench.tar.xz; do
  [ -f "$carried/$archive" ] || { echo "session.sh: $carried/$archive is missing: run bench/gpu/pack.sh and carry $carried"; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/segcluster-gpu-session.XXXXXX")
# On exit: remove the unpacked programs, and let tee write the log's last lines before $OUT is collected.
trap 'rm -rf "$work"; exec >&- 2>&-; wait "$tee_pid"' EXIT
# tar needs xz for .tar.xz; python3's tarfile is the fallback where xz is missing.
unpack() { tar -C "$work" -xJf "$1" 2>/dev/null || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$work"; }
unpack "$carried/segcluster-gpu.tar.xz" && unpack "$carried/bench.tar.xz" || { echo "session.sh: unpacking failed"; exit 2; }
while IFS= read -r name; do
  mkdir -p "$(dirname "$work/gpu/bench/$name")" && ln "$work/gpu/segcluster/$name" "$work/gpu/bench/$name"
done < "$work/gpu/bench-shared.txt"
echo "unpacked into $work in $((SECONDS - begin)) s"
if [ -f "$carried/PACKED_FROM" ]; then
  echo "packed from: $(tr '\n' ' ' < "$carried/PACKED_FROM")"
  cp "$carried/PACKED_FROM" "$out/PACKED_FROM"
else
  echo "packed from: unknown ($carried/PACKED_FROM is missing: an older pack.sh)"
fi

# libtorch for both .NET programs (the external build carries none): python3's torch, else (dry run without torch)
# the libtorch-cpu package of the NuGet cache.
if [ -z "${SEGCLUSTER_LIBTORCH:-}" ]; then
  SEGCLUSTER_LIBTORCH=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null) ||
    SEGCLUSTER_LIBTORCH=$(ls -d "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/libtorch-cpu-linux-x64/*/runtimes/linux-x64/native 2>/dev/null | sort -V | tail -1)
fi
[ -n "$SEGCLUSTER_LIBTORCH" ] || { echo "session.sh: no libtorch: python3 cannot import torch and SEGCLUSTER_LIBTORCH is unset"; exit 2; }
export SEGCLUSTER_LIBTORCH DOTNET_ROOT="$work/gpu/dotnet" CUDA_DEVICE_ORDER=PCI_BUS_ID PYTHONUNBUFFERED=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
cli=("$work/gpu/run.sh")
bench=("$DOTNET_ROOT/dotnet" "$work/gpu/bench/segcluster-bench.dll")
echo "libtorch: $SEGCLUSTER_LIBTORCH"

if python3 -c 'import torch.distributed' 2>/dev/null; then torch_python=1; else torch_python=0; fi
if python3 -c 'import torch, torchvision, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then cuda_python=1; else cuda_python=0; fi

summary=()
group=""  # the group the steps being declared belong to (amp_group), selectable by its name too
selected() { [ -z "${SESSION_STEPS:-}" ] || [[ ",$SESSION_STEPS," == *",$1,"* ]] || { [ -n "$group" ] && [[ ",$SESSION_STEPS," == *",$group,"* ]]; }; }
# step NAME MIN_S MAX_S COMMAND...: runs COMMAND under a timeout of MAX_S, cut to the budget left; skipped when less
# than MIN_S is left. Its exit status is left in $last (-1: not run).
last=0
step() {
  last=-1
  local name=$1 min=$2 max=$3; shift 3
  selected "$name" || return 0
  local left=$((budget - (SECONDS - begin) - reserve))
  if [ "$left" -lt "$min" ]; then
    echo "=== $name: skipped, ${left} s of the budget left (needs ${min} s)"
    summary+=("$(printf '%-30s skipped (budget)' "$name")")
    return
  fi
  local limit=$((max < left ? max : left)) started=$SECONDS rc
  echo "=== $name (timeout ${limit} s, $((SECONDS - begin)) s into the session): $*"
  timeout -k 5 "$limit" "$@"
  rc=$?
  last=$rc
  local verdict="ok"
  [ "$rc" -eq 0 ] || verdict="FAILED (exit $rc)"
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && verdict="TIMED OUT after ${limit} s"
  echo "=== $name: $verdict in $((SECONDS - started)) s"
  summary+=("$(printf '%-30s %-28s %4d s' "$name" "$verdict" $((SECONDS - started)))")
}

# skip NAME WHY: a step that cannot run here, named in the summary.
skip() {
  selected "$1" || return 0
  echo "=== $1: skipped: $2"; summary+=("$(printf '%-30s skipped: %s' "$1" "$2")")
}

# bundle FILE NAME=PATH...: one JSON object {"NAME": <PATH's JSON or null>, ...}, keeping $out within 8 files.
bundle() {
  local file=$1 sep="" pair; shift
  { printf '{'
    for pair in "$@"; do
      printf '%s\n"%s": ' "$sep" "${pair%%=*}"
      if [ -s "${pair#*=}" ]; then cat "${pair#*=}"; else printf 'null'; fi
      sep=","
    done
    printf '}\n'; } > "$file"
}

environment() {
  date -u; uname -a; nproc --all; free -g
  nvidia-smi || echo "(no nvidia-smi)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
    "device", torch.cuda.get_device_name() if torch.cuda.is_available() else "none")' || echo "(python3 has no torch)"
  "$DOTNET_ROOT/dotnet" --list-runtimes
}

if [ "$dry" -eq 1 ]; then
  device=cpu
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # a loaded small CPU: one OpenMP thread per process (bench/README.md)
  quick=(--steps 4 --image-size 64 --batch-size 2)
  quick_two=(--steps 3 --image-size 64 --batch-size 2)
  amp_size=(--height 64 --width 64 --batch 2 --steps 2 --warmup 1)
  # ResNet-50 trains on CPU at 0.2 img/s even at 64x64 (Layers.Conv1x1 avoids oneDNN's strided 1x1 SIGFPE): too slow here
  amp_backbone=resnet18
  reduce_sizes=(--ranks 2 --sizes-mb 1,4 --iterations 1)
  match_args=(--size 32 --steps 1)
else
  device=cuda:0
  quick=(--steps 300)
  quick_two=(--steps 200)
  amp_size=(--height 512 --width 1024 --batch 8 --steps 20 --warmup 5)
  amp_backbone=resnet50
  reduce_sizes=(--ranks 2,4 --sizes-mb 1,16,64,256 --iterations 3)
  match_args=(--backbone resnet50 --width 64 --size 128 --steps 2 --tolerance 1e-2)
fi

# amp_group GROUP MAX_S MODELS PRECISIONS FORMATS [KEEP_S]: one process per configuration (model x precision x format), each
# `segcluster-bench amp` (step amp-MODEL-PRECISION-FORMAT) then amp_reference.py (step amp-pytorch-...), same sizes.
# One process each because the peaks are NVML device-used memory and TorchSharp cannot empty libtorch's caching
# allocator: in one process a row's peak would include the cache earlier rows left. After each configuration the rows
# so far are merged into $out/amp-segcluster.json and $out/amp-pytorch.json (merge_amp), so a cut session keeps them.
# The models after the first run only while KEEP_S (default 0) of the budget would still be left for the later steps.
mkdir -p "$work/amp"
amp_group() {
  local max=$2 keep=${6:-0} first=${3%%,*} model precision format tag left
  group=$1
  for model in ${3//,/ }; do
    for precision in ${4//,/ }; do
      for format in ${5//,/ }; do
        tag="$model-$precision-$format"
        left=$((budget - (SECONDS - begin) - reserve))
        if [ "$model" != "$first" ] && [ $((left - keep)) -lt 60 ]; then
          skip "amp-$tag" "${left} s of the budget left, ${keep} s of it kept for the later steps"
          continue
        fi
        step "amp-$tag" 30 "$max" "${bench[@]}" amp --device "$device" "${amp_size[@]}" --backbone "$amp_backbone" \
          --models "$model" --precisions "$precision" --formats "$format" --out "$work/amp/segcluster-$tag.json"
        if [ "$cuda_python" -eq 1 ]; then
          step "amp-pytorch-$tag" 30 "$max" python3 bench/pytorch/amp_reference.py "${amp_size[@]}" --cudnn-benchmark 0 \
            --models "$model" --precisions "$precision" --formats "$format" --out "$work/amp/pytorch-$tag.json"
        else
          skip "amp-pytorch-$tag" "python3 has no torch + torchvision with CUDA (amp_reference.py is CUDA-only)"
        fi
        merge_amp
      done
    done
  done
  group=""
}

# merge_amp: $work/amp/FRAMEWORK-*.json (one row each) -> $out/amp-FRAMEWORK.json: the first file's header, every row.
merge_amp() {
  python3 - "$work/amp" "$out" <<'PY' || echo "session.sh: merging the amp results failed"
import glob, json, os, sys
for framework in ("segcluster", "pytorch"):
    merged = None
    for path in sorted(glob.glob(os.path.join(sys.argv[1], framework + "-*.json")), key=os.path.getmtime):
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            continue
        if merged is None:
            merged = dict(report, rows=[], processes="one per configuration (bench/gpu/session.sh)")
        merged["rows"] += report.get("rows", [])
    if merged is not None:
        with open(os.path.join(sys.argv[2], "amp-" + framework + ".json"), "w") as f:
            json.dump(merged, f, indent=2)
PY
}

# bundle_allreduce: the three all-reduce runs as one file, rewritten after each of their steps (the bench itself rewrites
# its report after each block of rows, so a timed-out run still has its finished rows).
bundle_allreduce() {
  bundle "$out/allreduce.json" tcp="$work/allreduce-tcp.json" gloo="$work/allreduce-gloo.json" grpc="$work/allreduce-grpc.json"
}

# wire_libtorch: PLATFORM.md's H100 recipe: torch/lib on LD_LIBRARY_PATH and linked beside libLibTorchSharp.so, for
# every later step.
wired=0
wire_libtorch() {
  export LD_LIBRARY_PATH="$SEGCLUSTER_LIBTORCH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  for folder in "$work/gpu/segcluster" "$work/gpu/bench"; do ln -sf "$SEGCLUSTER_LIBTORCH"/*.so* "$folder"/; done
  wired=1
}

# a. the machine and the versions
step environment 5 30 bash -c "$(declare -f environment); environment"

if [ "${SESSION_LIBTORCH_WIRING:-0}" = 1 ]; then
  echo "SESSION_LIBTORCH_WIRING=1: libtorch on LD_LIBRARY_PATH and linked beside libLibTorchSharp.so from the first step"
  wire_libtorch
fi

# b. issue 10: training on the GPU through the external libtorch; one worker, then two workers sharing the GPU
step quickstart-1-worker 30 120 "${cli[@]}" quickstart --device "$device" --workers 1 "${quick[@]}" --metrics-port 0 --out "$work/quickstart-1"
if [ "$last" -gt 0 ] && [ "$wired" -eq 0 ]; then
  # ExternalLibTorch loads libtorch by full path and needs nothing else (docs/platform.md, "GPU hosts with PyTorch"); should that
  # fail on CUDA, the wiring PLATFORM.md saw work on an H100 (torch/lib on LD_LIBRARY_PATH and linked beside
  # libLibTorchSharp.so) gets one more try, and the later steps keep it.
  echo "quickstart failed: retrying with libtorch on LD_LIBRARY_PATH and linked beside libLibTorchSharp.so"
  wire_libtorch
  step quickstart-1-worker-ld-path 30 120 "${cli[@]}" quickstart --device "$device" --workers 1 "${quick[@]}" --metrics-port 0 --out "$work/quickstart-1"
fi
step quickstart-2-workers 30 90 "${cli[@]}" quickstart --device "$device" --workers 2 "${quick_two[@]}" --metrics-port 0 --out "$work/quickstart-2"
# two ranks on the one device through the TCP ring match one rank with the double batch (SyncBN); cuDNN runs its
# convolutions in TF32 by default, which rounds differently for the two batch shapes, hence the looser tolerance there
step gradient-match 20 90 "${bench[@]}" gradient-match --device "$device" "${match_args[@]}" --norm syncbn --out "$work/gradient-match.json"
bundle "$out/quickstart.json" one_worker="$work/quickstart-1/result.json" two_workers="$work/quickstart-2/result.json" \
  gradient_match="$work/gradient-match.json"

# c. issue 15: SPGNet then DeepLabV3+ (ResNet-50), bf16-mixed then fp32, channels_last; per configuration SegCluster
# then PyTorch, one process each (amp_group). The most valuable configuration first: a cut step keeps the earlier ones.
# DeepLabV3+ only while 180 s stay for allreduce-tcp and allreduce-gloo.
amp_group amp-channels-last 75 spgnet,deeplabv3plus bf16-mixed,fp32 channels_last 180

# d. issue 9: the ring across W rank processes on the host's cores (TCP data plane, fp32 and fp16 wire; --in-process
# false: the processes path is the deployed one and the one gloo is compared with), then PyTorch gloo at the same sizes
step allreduce-tcp 40 120 "${bench[@]}" allreduce "${reduce_sizes[@]}" --in-process false --transports tcp --wires fp32,fp16 --out "$work/allreduce-tcp.json"
bundle_allreduce
if [ "$torch_python" -eq 1 ]; then
  step allreduce-gloo 20 60 python3 bench/pytorch/gloo_allreduce.py "${reduce_sizes[@]}" --out "$work/allreduce-gloo.json"
else
  skip allreduce-gloo "python3 cannot import torch.distributed"
fi
bundle_allreduce

# If time allows: SPGNet in the contiguous layout (the fp32 a user runs by default, the 'own fp32' baseline when
# present), then the gRPC transport's ring.
amp_group amp-contiguous 75 spgnet fp32,bf16-mixed contiguous
step allreduce-grpc 40 120 "${bench[@]}" allreduce "${reduce_sizes[@]}" --in-process false --transports grpc --wires fp32 --out "$work/allreduce-grpc.json"
bundle_allreduce

echo
echo "=== summary ($((SECONDS - begin)) s of ${budget} s; files in $out: $(ls "$out" | tr '\n' ' '))"
printf '%s\n' "${summary[@]}"
python3 bench/gpu/summary.py "$out" || grep -hE 'img/s  peak|^gloo W=' "$out/session.log"
echo "files in $out: $(ls "$out" | tr '\n' ' ')"
