"""PyTorch reference for `segcluster-bench allreduce` (issue 9): torch.distributed all_reduce with the gloo backend (CPU,
TCP on 127.0.0.1) across W processes on one host, same world sizes and buffer sizes, rows in the bench's field names.

Each rank fills a float32 buffer with rank + 1; one warm-up call per size is checked exactly (every element W(W+1)/2),
then --iterations timed calls, each after a barrier. A call's time is the slowest rank's; the median is reported.
algbw = bytes / time, busbw = algbw * 2(W-1)/W (nccl-tests' convention, as the bench). relative_l2_error: one extra call
on gradient-like data (random signs, magnitudes log-uniform in 1e-6..1e-1, 1 Mi floats per rank) against the exact
(float64) sum of the float32 values sent, as the bench does.
Run: python3 bench/pytorch/gloo_allreduce.py --ranks 2,4 --sizes-mb 1,16,64,256 --out bench/results/allreduce-gloo.json
"""
import argparse, datetime, json, os, platform, socket, statistics, tempfile, time
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def gradient_like(rank, count):
    g = torch.Generator().manual_seed(1000 + rank)
    magnitude = torch.pow(10.0, torch.empty(count, dtype=torch.float64).uniform_(-6, -1, generator=g))
    sign = torch.randint(0, 2, (count,), generator=g, dtype=torch.float64) * 2 - 1
    return magnitude * sign


def rank_main(rank, world, port, sizes, iterations, threads, result_path):
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    rows = []
    expected = world * (world + 1) / 2
    for size in sizes:
        buffer = torch.empty(size // 4, dtype=torch.float32)
        buffer.fill_(rank + 1)
        dist.all_reduce(buffer)  # warm-up, checked
        wrong = int((buffer != expected).sum())
        seconds = []
        for _ in range(iterations):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buffer)
            seconds.append(time.perf_counter() - start)
        slowest = torch.tensor(seconds, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        wrong_total = torch.tensor([wrong], dtype=torch.int64)
        dist.all_reduce(wrong_total)
        times = sorted(slowest.tolist())
        median = statistics.median(times)
        algbw = size / median / 1e9
        rows.append(dict(path="processes", transport="gloo", wire="fp32", world_size=world, bytes=size,
                         seconds_median=median, seconds_min=times[0], algbw_g_bps=round(algbw, 4),
                         busbw_g_bps=round(algbw * 2 * (world - 1) / world, 4), wrong_elements_warmup=int(wrong_total)))
        del buffer

    count = 1 << 20
    summed = gradient_like(rank, count).float()
    dist.all_reduce(summed)
    exact = torch.zeros(count, dtype=torch.float64)  # the exact sum of the float32 values the ranks sent
    for r in range(world):
        exact += gradient_like(r, count).float().double()
    error = float(torch.linalg.vector_norm(summed.double() - exact) / torch.linalg.vector_norm(exact))
    for row in rows:
        row["relative_l2_error"] = error
    if rank == 0:
        with open(result_path, "w") as f:
            json.dump(rows, f)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", default="2,4", help="world sizes, comma-separated (each >= 2)")
    p.add_argument("--sizes-mb", default="1,4,16,64,256", help="buffer sizes in MiB, comma-separated")
    p.add_argument("--iterations", type=int, default=3, help="timed calls per size after one warm-up; the median is reported")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank (gloo's own I/O threads are separate)")
    p.add_argument("--out", default="bench/results/allreduce-gloo.json")
    args = p.parse_args()
    worlds = [int(w) for w in args.ranks.split(",")]
    sizes = [int(s) << 20 for s in args.sizes_mb.split(",")]
    if any(w < 2 for w in worlds) or any(s <= 0 for s in sizes) or args.iterations < 1:
        p.error("--ranks must be >= 2, --sizes-mb positive, --iterations >= 1")

    # gloo binds to the address the host name resolves to unless told otherwise; a machine without a network may have
    # none that works, and the bench's ring runs on 127.0.0.1 too.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    rows = []
    for world in worlds:
        with tempfile.TemporaryDirectory() as folder:
            result_path = os.path.join(folder, "rows.json")
            mp.start_processes(rank_main, args=(world, free_port(), sizes, args.iterations, args.threads, result_path),
                               nprocs=world, join=True, start_method="spawn")
            with open(result_path) as f:
                for row in json.load(f):
                    rows.append(row)
                    print(f"gloo W={world} {row['bytes'] >> 20:4} MiB: algbw {row['algbw_g_bps']:.3f} GB/s, busbw "
                          f"{row['busbw_g_bps']:.3f} GB/s, wrong {row['wrong_elements_warmup']}, rel. error "
                          f"{row['relative_l2_error']:.1e}", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(dict(machine=dict(host=platform.node(), cores=os.cpu_count(), os=platform.platform(),
                                    runtime=f"PyTorch {torch.__version__}, Python {platform.python_version()}",
                                    when=datetime.datetime.now(datetime.timezone.utc).isoformat()),
                       result=dict(backend="gloo", iterations=args.iterations, threads_per_rank=args.threads, rows=rows)),
                  f, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
