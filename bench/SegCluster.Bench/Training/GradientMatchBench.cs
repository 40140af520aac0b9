using TorchSharp;
using SegCluster.Bench.AllReduce;
using SegCluster.Bench.Loopback;
using SegCluster.Cluster.Training;
using SegCluster.Collectives;
using SegCluster.Vision.Data;
using SegCluster.Vision.Devices;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Training;
using static TorchSharp.torch;

namespace SegCluster.Bench.Training;

/// <summary>
/// `gradient-match` (issue 10: "two workers sharing the GPU train through the real all-reduce and match the
/// single-worker gradients"): W ranks on one device, each with its own collective endpoint and the TCP ring over
/// loopback, train the same seeded model on their slices of each global batch; one rank alone trains on the whole
/// batch. After every step each trainer's parameter grads hold the gradient it applied (the reduced one for the
/// ranks), so the figure is the relative L2 difference of those gradients, and of the parameters at the end. A norm
/// without per-rank batch statistics (gn, syncbn) makes them equal up to summation order.
/// </summary>
public static class GradientMatchBench
{
    public static readonly string[] Options = ["--device", "--model", "--backbone", "--width", "--size", "--batch-per-worker", "--workers", "--norm", "--steps", "--tolerance", "--out"];

    public static int Run(BenchArguments args)
    {
        var deviceName = args.Text("--device", "cpu");
        var device = DeviceParser.Parse(deviceName);
        var norm = args.Text("--norm", "gn");
        var normKind = norm switch
        {
            "gn" => NormKind.GroupNorm,
            "syncbn" => NormKind.SyncBatchNorm,
            "bn" => NormKind.BatchNorm,  // per-rank statistics: expected NOT to match (a control)
            _ => throw new ArgumentException($"--norm: '{norm}' is unknown; use gn, syncbn or bn."),
        };
        var model = new ModelOptions(args.Text("--model", "spgnet"), NumClasses: 6, Width: args.Int("--width", 8), normKind, args.Text("--backbone", "tiny"));
        int size = args.Int("--size", 64), batch = args.Int("--batch-per-worker", 2), workers = args.Int("--workers", 2), steps = args.Int("--steps", 2);
        double tolerance = double.Parse(args.Text("--tolerance", "1e-4"), System.Globalization.CultureInfo.InvariantCulture);
        string output = args.Text("--out", Path.Combine("bench", "results", $"gradient-match-{deviceName.Replace(':', '-')}.json"));
        if (workers < 2 || batch < 1 || steps < 1) throw new ArgumentException("--workers ≥ 2, --batch-per-worker ≥ 1, --steps ≥ 1.");

        var data = new SyntheticSceneDataset(new SyntheticSceneOptions(model.NumClasses, size, size, Count: workers * batch * steps, Seed: 7));
        var single = Train(model, device, data, new SingleRankReducer(), rank: 0, world: 1, batch * workers, steps);
        // The noise floor: the one rank again on its images scaled by 1 + 1e-7·cos(k), a change of float32 rounding's size.
        // A deep BatchNorm network at initialisation amplifies rounding (ResNet-50 SPGNet at width 16, 64×64: a 1e-7 input
        // change moves the gradient by 1.4e-2), so W ranks, whose statistics sum in another order, cannot match it closer
        // than that; a difference within FloorFactor × the floor is rounding, not a wrong sum.
        var perturbed = Train(model, device, data, new SingleRankReducer(), rank: 0, world: 1, batch * workers, steps, noise: 1e-7);
        var ranks = TrainOnRingAsync(model, device, data, workers, batch, steps).GetAwaiter().GetResult();

        var rows = Enumerable.Range(0, steps).Select(s => new
        {
            step = s + 1,
            gradient_relative_l2 = ranks.Select(r => RelativeL2(single.Gradients[s], r.Gradients[s])).Max(),
            noise_floor_relative_l2 = RelativeL2(single.Gradients[s], perturbed.Gradients[s]),
            ranks_identical = ranks.All(r => r.Gradients[s].AsSpan().SequenceEqual(ranks[0].Gradients[s])),
        }).ToList();
        double parameters = ranks.Select(r => RelativeL2(single.Parameters, r.Parameters)).Max();
        double parametersFloor = RelativeL2(single.Parameters, perturbed.Parameters);
        bool Within(double difference, double floor) => difference <= Math.Max(tolerance, FloorFactor * floor);
        bool pass = rows.All(r => Within(r.gradient_relative_l2, r.noise_floor_relative_l2) && r.ranks_identical) && Within(parameters, parametersFloor);
        foreach (var row in rows)
            Console.WriteLine($"step {row.step}: gradient of {workers} ranks vs 1 rank, relative L2 {row.gradient_relative_l2:E2} " +
                              $"(noise floor {row.noise_floor_relative_l2:E2}); ranks identical: {row.ranks_identical}");
        Console.WriteLine($"parameters after {steps} steps: relative L2 {parameters:E2} (noise floor {parametersFloor:E2}; passes within " +
                          $"max(tolerance {tolerance:E0}, {FloorFactor} × floor)): {(pass ? "match" : "MISMATCH")}");
        BenchJson.Write(output, new
        {
            bench = "gradient-match",
            what = $"{workers} ranks × batch {batch} on {deviceName} through the TCP ring over loopback against 1 rank × batch {workers * batch}; " +
                   "gradients are the ones each trainer applied (the ranks' reduced mean)",
            device = deviceName, model = model.Name, backbone = model.Backbone, width = model.Width, norm, size, batch_per_worker = batch, workers, steps, tolerance,
            rows, parameters_relative_l2 = parameters, parameters_noise_floor_relative_l2 = parametersFloor, floor_factor = FloorFactor, match = pass,
            machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
            date = DateTime.UtcNow.ToString("u"),
        });
        Console.WriteLine($"wrote {output}");
        return pass ? 0 : 1;
    }

    /// <summary>How many times the noise floor a difference may be and still count as rounding.</summary>
    private const double FloorFactor = 4;

    private sealed record RunResult(float[][] Gradients, float[] Parameters);

    private static async Task<RunResult[]> TrainOnRingAsync(ModelOptions model, Device device, SyntheticSceneDataset data, int workers, int batch, int steps)
    {
        var hosts = new List<CollectiveHost>();
        try
        {
            for (var r = 0; r < workers; r++) hosts.Add(await CollectiveHost.StartAsync(LoopbackTcp.FreePort()));
            var group = new RingGroup($"gradient-match-{Guid.NewGuid():N}", [.. hosts.Select(h => h.Endpoint)]);
            var options = new CollectiveOptions { Timeout = TimeSpan.FromMinutes(5), Transport = RingTransport.Tcp };
            return await Task.WhenAll(Enumerable.Range(0, workers).Select(rank => Task.Factory.StartNew(() =>
            {
                using var cancel = new CancellationTokenSource();
                var ring = new RingAllReduce(group, rank, hosts[rank].Mailbox, options);
                try
                {
                    return Train(model, device, data, new RingGradientReducer(ring, cancel.Token), rank, workers, batch, steps);
                }
                finally
                {
                    ring.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }, TaskCreationOptions.LongRunning)));
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    /// <summary>One rank: the seeded model (the same weights on every rank), <paramref name="steps"/> SGD steps on its
    /// slice of each global batch; the gradient applied at each step and the final parameters, flat, on the host.</summary>
    private static RunResult Train(ModelOptions options, Device device, SyntheticSceneDataset data, IGradientReducer reducer, int rank, int world, int batch, int steps,
        double noise = 0)
    {
        using var model = BuildSeeded(options);
        model.to(device);
        using var trainer = new DataParallelTrainer(model, new SegmentationCriterion(new LossOptions()),
            new OptimizerOptions(LearningRate: 0.05, Momentum: 0.9, WeightDecay: 1e-4), reducer);
        var gradients = new float[steps][];
        for (int s = 0; s < steps; s++)
        {
            var indices = Enumerable.Range((s * world + rank) * batch, batch);
            using var step = SegmentationBatch.Collate(indices.Select(data.Get).ToList(), device);
            if (noise != 0)
            {
                using var noGrad = no_grad();
                using var scale = noise.ToScalar();  // held for the native calls (temporary Scalars can be finalised mid-call)
                using var one = 1.0.ToScalar();
                using var k = arange(step.Images.numel(), ScalarType.Float32, device).view_as(step.Images);
                step.Images.mul_(k.cos_().mul_(scale).add_(one));
            }
            trainer.Step(step);
            gradients[s] = Flat(model.parameters().Select(p => p.grad!));
        }
        return new RunResult(gradients, Flat(model.parameters()));
    }

    private static readonly Lock SeededBuild = new();

    /// <summary>The same initial weights on every rank: the global generator is seeded and drawn under one lock, since
    /// ranks build on their own threads.</summary>
    private static SegmentationModel BuildSeeded(ModelOptions options)
    {
        lock (SeededBuild)
        {
            random.manual_seed(11);
            return ModelRegistry.Create(options);
        }
    }

    private static float[] Flat(IEnumerable<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        return cat(tensors.Select(t => t.detach().reshape(-1).to(ScalarType.Float32).cpu()).ToList()).data<float>().ToArray();
    }

    private static double RelativeL2(float[] reference, float[] other)
    {
        double difference = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)other[i] - reference[i];
            difference += d * d;
            norm += (double)reference[i] * reference[i];
        }
        return Math.Sqrt(difference / Math.Max(norm, double.Epsilon));
    }
}
