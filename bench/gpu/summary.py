"""Prints the figures bench/gpu/session.sh took, next to their targets, from the JSON files in one folder (its $OUT).
Standard library only; a missing file is reported, not fatal. Usage: python3 bench/gpu/summary.py OUT_FOLDER"""
import json, os, statistics, sys


def load(folder, name):
    path = os.path.join(folder, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"{name}: not available ({e.__class__.__name__})")
        return None


def quickstart(folder):
    runs = load(folder, "quickstart.json") or {}
    for name, run in runs.items():
        if name == "gradient_match":
            if run:
                worst = max(row["gradient_relative_l2"] for row in run["rows"])
                print(f"gradient-match: {run['workers']} ranks vs 1 on {run['device']} ({run['model']}/{run['backbone']}, {run['norm']}): "
                      f"gradient rel. L2 {worst:.2e}, parameters {run['parameters_relative_l2']:.2e}, "
                      f"{'match' if run['match'] else 'MISMATCH'} at tolerance {run['tolerance']:g} (issue 10)")
            else:
                print("gradient-match: no result")
        elif run:
            print(f"quickstart {name}: {run['workers']} worker(s) on {run['device']}, {run['steps']} steps, "
                  f"mIoU {run['miou']:.2%}, {run['images_per_second']:.1f} img/s")
        else:
            print(f"quickstart {name}: no result")


def amp(folder):
    """Issue 15: SegCluster bf16-mixed + channels_last >= 0.95x PyTorch's, and >= 1.8x SegCluster's own fp32."""
    reports = [("segcluster", load(folder, "amp-segcluster.json")), ("pytorch", load(folder, "amp-pytorch.json"))]
    reports += [(key.split("_")[0], report) for key, report in (load(folder, "amp-extra.json") or {}).items()]
    rates, peaks = {}, {}
    for framework, report in reports:
        for row in (report or {}).get("rows", []):
            key = (framework, row["model"], row["precision"], row["memory_format"])
            rates[key], peaks[key] = row["images_per_second"], row["peak_memory_bytes"]
    # Peaks differ in kind: SegCluster's is the GPU's NVML used memory (context and cache included), PyTorch's
    # torch.cuda.max_memory_allocated (tensors only).
    for (framework, model, precision, layout), rate in sorted(rates.items()):
        theirs = rates.get(("pytorch", model, precision, layout)) if framework == "segcluster" else None
        versus = f"  = {rate / theirs:.2f}x PyTorch" if theirs else ""
        peak = peaks[(framework, model, precision, layout)] / 2**30
        print(f"amp {framework:10} {model:13} {precision:10} {layout:13} {rate:8.2f} img/s  peak {peak:6.2f} GiB{versus}")
    for model in sorted({key[1] for key in rates}):
        fast = rates.get(("segcluster", model, "bf16-mixed", "channels_last"))
        torch_fast = rates.get(("pytorch", model, "bf16-mixed", "channels_last"))
        fp32 = rates.get(("segcluster", model, "fp32", "contiguous")) or rates.get(("segcluster", model, "fp32", "channels_last"))
        if fast and torch_fast:
            print(f"target {model}: bf16+channels_last vs PyTorch autocast bf16+channels_last {fast / torch_fast:.2f}x (>= 0.95)")
        if fast and fp32:
            print(f"target {model}: bf16+channels_last vs own fp32 {fast / fp32:.2f}x (>= 1.8)")


def allreduce(folder):
    """Issue 9: the ring's busbw >= 0.8 of the loopback bound at >= 64 MiB; next to gloo at the same W and size."""
    gloo = {(r["world_size"], r["bytes"]): r["busbw_g_bps"] for r in ((load(folder, "allreduce-gloo.json") or {}).get("result") or {}).get("rows", [])}
    for name in ("allreduce.json", "allreduce-grpc.json"):
        rows = ((load(folder, name) or {}).get("result") or {}).get("rows", [])
        for r in rows:
            g = gloo.get((r["world_size"], r["bytes"]))
            versus = f", {r['busbw_g_bps'] / g:.2f}x gloo ({g:.3f})" if g and r["path"] == "processes" and r["wire"] == "fp32" else ""
            print(f"ring {r['transport']:4} {r['wire']} {r['path']:10} W={r['world_size']} {r['bytes'] >> 20:4} MiB: busbw "
                  f"{r['busbw_g_bps']:.3f} GB/s = {r['busbw_ratio']:.2f} of one stream, {r['busbw_ratio_concurrent']:.2f} of W streams{versus}")
        large = [r["busbw_ratio"] for r in rows if r["bytes"] >= 64 << 20 and r["wire"] == "fp32"]
        if large:
            print(f"target {name}: median busbw_ratio at >= 64 MiB (fp32) {statistics.median(large):.2f} (>= 0.8)")
    for (world, size), busbw in sorted(gloo.items()):
        print(f"gloo W={world} {size >> 20:4} MiB: busbw {busbw:.3f} GB/s")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    for section in (quickstart, amp, allreduce):
        section(sys.argv[1])
