"""Prints the figures bench/gpu/session.sh took, next to their targets, from the JSON files in one folder (its $OUT),
and writes them to summary.json in that folder (the printed lines, the targets, the amp rows side by side).
Standard library only; a missing file is reported, not fatal. Usage: python3 bench/gpu/summary.py OUT_FOLDER"""
import json, os, statistics, sys

lines, targets = [], []


def say(text):
    print(text)
    lines.append(text)


def load(folder, name):
    path = os.path.join(folder, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        say(f"{name}: not available ({e.__class__.__name__})")
        return None


def quickstart(folder):
    runs = load(folder, "quickstart.json") or {}
    for name, run in runs.items():
        if name == "gradient_match":
            if run:
                worst = max(row["gradient_relative_l2"] for row in run["rows"])
                floor = max((row.get("noise_floor_relative_l2", 0) for row in run["rows"]), default=0)
                say(f"gradient-match: {run['workers']} ranks vs 1 on {run['device']} ({run['model']}/{run['backbone']}, {run['norm']}): "
                    f"gradient rel. L2 {worst:.2e} (noise floor {floor:.2e}), parameters {run['parameters_relative_l2']:.2e}, "
                    f"{'match' if run['match'] else 'MISMATCH'} at tolerance {run['tolerance']:g} (issue 10)")
            else:
                say("gradient-match: no result")
        elif run:
            say(f"quickstart {name}: {run['workers']} worker(s) on {run['device']} ({run.get('precision') or '?'}, "
                f"{run.get('memory_format') or '?'}), {run['steps']} steps, mIoU {run['miou']:.2%}, {run['images_per_second']:.1f} img/s")
        else:
            say(f"quickstart {name}: no result")


def amp_rows(folder):
    """(framework, model, precision, format) -> row, from amp-segcluster.json and amp-pytorch.json (each the merged
    rows of one process per configuration) and an older session's amp-extra.json."""
    reports = [("segcluster", load(folder, "amp-segcluster.json")), ("pytorch", load(folder, "amp-pytorch.json"))]
    if os.path.exists(os.path.join(folder, "amp-extra.json")):
        reports += [(key.split("_")[0], report) for key, report in (load(folder, "amp-extra.json") or {}).items()]
    rows = {}
    for framework, report in reports:
        for row in (report or {}).get("rows", []):
            rows[(framework, row["model"], row["precision"], row["memory_format"])] = row
    return rows


def comparable(ours, theirs):
    """None when the two rows measure the same network, else why not."""
    a, b = ours.get("parameters"), theirs.get("parameters")
    if a is None or b is None:
        return "a row has no parameter count (an older bench or reference), so the networks may differ"
    if a != b:
        return f"parameter counts differ (SegCluster {a:,}, PyTorch {b:,}): not the same network"
    return None


def amp(folder):
    """Issue 15: SegCluster bf16-mixed + channels_last >= 0.95x PyTorch's, and >= 1.8x SegCluster's own fp32.
    Peaks compared NVML with NVML: SegCluster's peak_memory_bytes is the GPU's NVML used memory (context and caching
    allocator included), one process per configuration; PyTorch's nvml_peak_used_bytes is sampled the same way
    (its max_memory_allocated, tensors only, is printed beside it but not compared)."""
    rows = amp_rows(folder)
    side_by_side = []
    for (framework, model, precision, layout), row in sorted(rows.items()):
        if framework != "segcluster":
            continue
        theirs = rows.get(("pytorch", model, precision, layout))
        entry = dict(model=model, precision=precision, memory_format=layout, segcluster=row, pytorch=theirs)
        why = comparable(row, theirs) if theirs else "no PyTorch row"
        gib = lambda b: f"{b / 2**30:6.2f} GiB" if b is not None else "   n/a    "
        text = (f"amp {model:13} {precision:10} {layout:13} SegCluster {row['images_per_second']:8.2f} img/s, peak (CUDA: NVML) "
                f"{gib(row['peak_memory_bytes'])}, params {row.get('parameters', 0):,}")
        if theirs:
            text += (f" | PyTorch {theirs['images_per_second']:8.2f} img/s, NVML peak {gib(theirs.get('nvml_peak_used_bytes'))} "
                     f"(allocated {gib(theirs['peak_memory_bytes'])}, reserved {gib(theirs.get('peak_reserved_bytes'))})")
        if why is None:
            entry["images_per_second_ratio"] = row["images_per_second"] / theirs["images_per_second"]
            text += f" = {entry['images_per_second_ratio']:.2f}x PyTorch"
            if theirs.get("nvml_peak_used_bytes"):
                entry["nvml_peak_ratio"] = row["peak_memory_bytes"] / theirs["nvml_peak_used_bytes"]
                text += f", NVML peak {entry['nvml_peak_ratio']:.2f}x"
        else:
            entry["no_ratio_because"] = why
            text += f" (no ratio: {why})"
        say(text)
        side_by_side.append(entry)
    for (framework, model, precision, layout), row in sorted(rows.items()):
        if framework == "pytorch" and ("segcluster", model, precision, layout) not in rows:
            say(f"amp {model:13} {precision:10} {layout:13} PyTorch only: {row['images_per_second']:8.2f} img/s")
    for model in sorted({key[1] for key in rows}):
        fast = rows.get(("segcluster", model, "bf16-mixed", "channels_last"))
        torch_fast = rows.get(("pytorch", model, "bf16-mixed", "channels_last"))
        if fast and torch_fast:
            why = comparable(fast, torch_fast)
            if why is None:
                ratio = fast["images_per_second"] / torch_fast["images_per_second"]
                say(f"target {model}: bf16+channels_last vs PyTorch autocast bf16+channels_last {ratio:.2f}x (>= 0.95)")
                targets.append(dict(target=f"{model} bf16+channels_last vs PyTorch", ratio=ratio, threshold=0.95, met=ratio >= 0.95))
            else:
                say(f"target {model}: bf16+channels_last vs PyTorch: no ratio, {why}")
                targets.append(dict(target=f"{model} bf16+channels_last vs PyTorch", ratio=None, threshold=0.95, met=None, why=why))
        # the 'own fp32' baseline: contiguous (what a user runs by default) when measured, else channels_last
        baseline = next(((layout, rows[key]) for layout in ("contiguous", "channels_last")
                         if (key := ("segcluster", model, "fp32", layout)) in rows), None)
        if fast and baseline:
            ratio = fast["images_per_second"] / baseline[1]["images_per_second"]
            say(f"target {model}: bf16+channels_last vs own fp32 ({baseline[0]}) {ratio:.2f}x (>= 1.8)")
            targets.append(dict(target=f"{model} bf16+channels_last vs own fp32", baseline_memory_format=baseline[0], ratio=ratio,
                                threshold=1.8, met=ratio >= 1.8))
    return side_by_side


def allreduce_reports(folder):
    """{'tcp': report, 'gloo': report, 'grpc': report} from allreduce.json (session.sh's bundle) or the older separate files."""
    bundle = load(folder, "allreduce.json") or {}
    if "result" in bundle or "Result" in bundle:  # an older session: one file per run
        bundle = dict(tcp=bundle, gloo=load(folder, "allreduce-gloo.json"), grpc=load(folder, "allreduce-grpc.json"))
    return bundle


def allreduce(folder):
    """Issue 9: the ring's busbw >= 0.8 of the loopback bound at >= 64 MiB; next to gloo at the same W and size.
    One median per path: processes (W rank processes, as deployed) and in-process (all ranks in one process)."""
    reports = allreduce_reports(folder)
    gloo = {(r["world_size"], r["bytes"]): r["busbw_g_bps"] for r in ((reports.get("gloo") or {}).get("result") or {}).get("rows", [])}
    for name in ("tcp", "grpc"):
        rows = ((reports.get(name) or {}).get("result") or {}).get("rows", [])
        if not rows:
            say(f"allreduce {name}: no result")
        for r in rows:
            g = gloo.get((r["world_size"], r["bytes"]))
            versus = f", {r['busbw_g_bps'] / g:.2f}x gloo ({g:.3f})" if g and r["path"] == "processes" and r["wire"] == "fp32" else ""
            say(f"ring {r['transport']:4} {r['wire']} {r['path']:10} W={r['world_size']} {r['bytes'] >> 20:4} MiB: busbw "
                f"{r['busbw_g_bps']:.3f} GB/s = {r['busbw_ratio']:.2f} of one stream, {r['busbw_ratio_concurrent']:.2f} of W streams{versus}")
        for path in sorted({r["path"] for r in rows}):
            large = [r["busbw_ratio"] for r in rows if r["bytes"] >= 64 << 20 and r["wire"] == "fp32" and r["path"] == path]
            if large:
                median = statistics.median(large)
                say(f"target allreduce {name} ({path}): median busbw_ratio at >= 64 MiB (fp32) {median:.2f} (>= 0.8)")
                targets.append(dict(target=f"allreduce {name} {path} busbw_ratio >= 64 MiB fp32", ratio=median, threshold=0.8, met=median >= 0.8))
    for (world, size), busbw in sorted(gloo.items()):
        say(f"gloo W={world} {size >> 20:4} MiB: busbw {busbw:.3f} GB/s")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    folder = sys.argv[1]
    quickstart(folder)
    amp_side_by_side = amp(folder)
    allreduce(folder)
    with open(os.path.join(folder, "summary.json"), "w") as f:
        json.dump(dict(targets=targets, amp=amp_side_by_side, lines=lines,
                       note="amp peaks: NVML device-used memory on both sides, one process per configuration"), f, indent=2)
    print(f"wrote {os.path.join(folder, 'summary.json')}")
