using System.Diagnostics;
using SegCluster.Vision.Data;
using SegCluster.Vision.Losses;
using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Normalization;
using SegCluster.Vision.Training.Bucketing;
using SegCluster.Vision.Training.Optimizers;
using SegCluster.Vision.Training.Precision;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Training;

/// <summary>
/// One rank of synchronous data-parallel training (SGD or AdamW). Per step: forward → local loss terms → all-reduce of
/// the tiny per-term (valid-pixel count, CE sum) buffer → loss normalised by GLOBAL counts → backward into
/// one flat gradient buffer → all-reduce SUM (each rank already divided by the global count, so the sum
/// is the global mean gradient; with more than one rank in buckets that start during backward,
/// <see cref="Bucketing.OverlappedGradientReduction"/>) → optimiser step. Hence W ranks × batch b give the same parameters as
/// 1 rank × batch W·b, ignore pixels included, whenever batch statistics are global or absent
/// (<see cref="NormKind.SyncBatchNorm"/>, <see cref="NormKind.GroupNorm"/>, <see cref="NormKind.None"/>;
/// plain BatchNorm statistics stay per rank).
/// The model knows nothing of this (STYLE.md habit 1). Every rank must call <see cref="Step"/> in
/// lock-step with equal model structure, and build its trainer with the others' (under channels_last the constructor
/// settles the conv weights' layout over the group: one collective call).
/// </summary>
public sealed class DataParallelTrainer : IDisposable
{
    private readonly ISegmentationCriterion _criterion;
    private readonly IGradientReducer _reducer;
    private readonly IGradientReducer _collective;  // every sum of a step goes here: the reducer, or its stream when buckets overlap backward
    private readonly ReductionStream? _stream;
    private readonly DifferentiableAllReduce _statistics;  // SyncBatchNorm's sums, over _collective: backward keeps their failures for the step to throw
    private readonly OverlappedGradientReduction? _overlap;
    private readonly ParameterSlice[] _slices;
    private readonly OptimizerOptions _options;
    private readonly IFlatOptimizer _optimizer;
    private readonly FlatGradient _gradient;
    private readonly MixedPrecisionPolicy _precision;
    private long _completedSteps;

    /// <summary>Builds the optimiser (<see cref="OptimizerOptions.Kind"/>) over the model's trainable parameters (on the model's device).</summary>
    /// <param name="precision">Precision and memory format (default fp32, contiguous), applied to the model here, before its
    /// parameters are collected. channels_last with several ranks: a convolution any rank's device computes wrongly in it
    /// stays NCHW on every rank (a sum over the reducer, here).</param>
    /// <param name="bucketMegabytes">With more than one rank, the gradient is all-reduced in buckets of about this size, each
    /// as soon as backward has produced it, overlapped with the rest of backward (DDP's bucket_cap_mb, default 25); 0 reduces
    /// the whole gradient once after backward. The sums are the same either way.</param>
    public DataParallelTrainer(SegmentationModel model, ISegmentationCriterion criterion, OptimizerOptions optimizer, IGradientReducer reducer,
        PrecisionOptions? precision = null, double bucketMegabytes = GradientBucketLayout.DefaultCapMegabytes)
        : this(model, criterion, optimizer, reducer, precision, bucketMegabytes, channelsLastProbe: null)
    {
    }

    /// <param name="channelsLastProbe">Stands in this device's channels_last verdict per convolution (tests: another device's);
    /// null probes (<see cref="ChannelsLastConvolutionCheck"/>).</param>
    internal DataParallelTrainer(SegmentationModel model, ISegmentationCriterion criterion, OptimizerOptions optimizer, IGradientReducer reducer,
        PrecisionOptions? precision, double bucketMegabytes, Func<TorchSharp.Modules.Conv2d, bool>? channelsLastProbe)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(criterion);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(reducer);
        optimizer.Validate();
        if (!double.IsFinite(bucketMegabytes) || bucketMegabytes < 0)
            throw new ArgumentOutOfRangeException(nameof(bucketMegabytes), bucketMegabytes, "the gradient bucket size must be a finite number of megabytes, 0 or more (0: no overlap).");
        Model = model;
        _criterion = criterion;
        _reducer = reducer;
        _options = optimizer;
        try
        {
            _stream = reducer.WorldSize > 1 && bucketMegabytes > 0 ? new ReductionStream(reducer) : null;
            _collective = (IGradientReducer?)_stream ?? reducer;
            _statistics = new DifferentiableAllReduce(_collective, _stream is null ? null : _stream.Abort);
            SyncBatchNorm2d.Attach(model, _statistics);  // batch statistics over the whole group, in order with the gradient buckets
            _overlap = _stream is null ? null : new OverlappedGradientReduction(model, _stream);  // hooks the layers before the precision policy does
            // May replace conv weights (channels_last): with the same layout on every rank, so the flat gradients line up.
            _precision = MixedPrecisionPolicy.Attach(model, precision ?? PrecisionOptions.Fp32, AgreeAcrossRanks, channelsLastProbe);
            // No weight decay on 1-D parameters (biases, norm scales) when the options exempt them.
            _slices = ParameterSlice.Layout([.. model.parameters().Where(p => p.requires_grad)],
                p => optimizer.NoDecayOnNormAndBias && p.dim() <= 1 ? 0 : optimizer.WeightDecay);
            _gradient = new FlatGradient(_slices, reducer.WorldSize);
            _overlap?.Bind(_slices, _gradient.Views, _gradient.IsView, _gradient.Values, _gradient.Host!, (long)(bucketMegabytes * 1024 * 1024));
            _optimizer = optimizer.Create(_slices);
        }
        catch
        {
            Dispose();  // the hooks, the stream's thread and SyncBatchNorm's group come off the caller's model
            throw;
        }
    }

    public SegmentationModel Model { get; }

    /// <summary>
    /// The channels_last verdicts every rank applies (true: the convolution stays NCHW), from each rank's own: NCHW on every
    /// rank where any rank's device computes it wrongly in channels_last. A conv weight's layout is its gradient's element
    /// order in the flat buffer (<see cref="FlatGradient"/>), so ranks that converted different convolutions would
    /// sum misaligned gradients and drift apart for good. One small full-precision sum, in the constructor, on every rank.
    /// </summary>
    private bool[] AgreeAcrossRanks(bool[] wrongHere)
    {
        if (_collective.WorldSize == 1 || wrongHere.Length == 0) return wrongHere;  // every rank has the same convolutions
        var votes = Array.ConvertAll(wrongHere, wrong => wrong ? 1f : 0f);
        _collective.SumFullPrecision(votes);
        return Array.ConvertAll(votes, count => count > 0);
    }

    /// <summary>The precision policy on <see cref="Model"/>; its <see cref="MixedPrecisionPolicy.Scaler"/> holds the fp16 loss scale.</summary>
    public MixedPrecisionPolicy Precision => _precision;

    /// <summary>Steps completed successfully, fp16 steps the loss scaler skipped included (the schedule counts them, as
    /// PyTorch's scheduler.step() after a skipped optimizer.step() does).</summary>
    public long CompletedSteps => _completedSteps;

    /// <summary>Updates the optimiser applied: <see cref="CompletedSteps"/> less the skipped fp16 steps.</summary>
    public long OptimizerSteps => _optimizer.AppliedSteps;

    /// <summary>Floats in the flat gradient buffer (= trainable parameters).</summary>
    public int GradientLength => (int)_gradient.Length;

    /// <summary>
    /// One synchronous step on this rank's <paramref name="batch"/>. Blocks in the reducer until every
    /// rank arrives. Throws <see cref="TrainingDivergedException"/> if the global loss or the reduced
    /// gradient is NaN/Inf (fp16-mixed skips such a step instead); the check runs on values identical on all ranks, so all ranks throw
    /// together, and before any parameter or optimiser state changes.
    /// A failed all-reduce throws the reducer's exception, also one inside backward (SyncBatchNorm's, once backward is over);
    /// the optimiser is not stepped. With buckets overlapping backward, the rest of that step and
    /// every later step then fail at once with that same exception (<see cref="ReductionStream"/>: the ring may be broken),
    /// rather than each sum waiting out the reducer's timeout; dispose this trainer and build a new one on a re-formed
    /// group (the cluster's next attempt), which resumes from the last checkpoint.
    /// </summary>
    public StepResult Step(SegmentationBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int k = _options.AccumulationSteps;
        if (batch.Count % k != 0)
            throw new ArgumentException($"a batch of {batch.Count} cannot be split into {k} equal micro-batches (OptimizerOptions.AccumulationSteps); use a multiple.", nameof(batch));
        using var scope = NewDisposeScope();
        long stepNumber = _completedSteps + 1;
        var timings = new StepTimings(_stream);

        double globalLoss = AccumulateGradients(batch, stepNumber, timings);
        ReduceGradients(timings);
        var (scaledNorm, bad) = _gradient.Measure();  // still loss-scaled
        double lossScale = _precision.LossScale;  // the scale this step's backward used, before Update changes it
        var learningRate = _options.LearningRateAt(_completedSteps);  // a skipped step reports the rate it would have used
        // fp16-mixed: an overflow on any rank makes the SUM non-finite on every rank (inf and NaN survive addition),
        // so all ranks skip this step together and back the scale off; parameters and optimiser state stay as they were.
        if (_precision.Scaler is { } scaler && !scaler.Update(gradientsFinite: bad < 0))
            return Completed(globalLoss, batch.Count, timings, learningRate, gradientNorm: double.NaN, skipped: true);
        if (bad >= 0)
            throw new TrainingDivergedException(
                $"gradient is not finite at step {stepNumber} (element {bad} of {GradientLength}, rank {_reducer.Rank}); " +
                "no parameter was changed. Lower the learning rate or check the inputs.");

        double gradientNorm = ApplyUpdate(scaledNorm, lossScale, learningRate, timings);
        return Completed(globalLoss, batch.Count, timings, learningRate, gradientNorm, skipped: false);
    }

    /// <summary>
    /// Gradient accumulation: k forward/backward passes (<see cref="OptimizerOptions.AccumulationSteps"/>) over equal
    /// micro-batches, into the zeroed grads; one gradient all-reduce and one update follow. Returns the global loss (the
    /// micro-batches' mean). With buckets overlapping backward, only the last micro-batch's backward launches them, and a
    /// failure abandons them before it propagates.
    /// </summary>
    private double AccumulateGradients(SegmentationBatch batch, long stepNumber, StepTimings timings)
    {
        Model.train();
        _gradient.Zero();
        int k = _options.AccumulationSteps;
        double globalLoss = 0;
        int micro = batch.Count / k;
        var content = _criterion.ReadsContent ? batch.Content : null;  // built on the batch's device only for a criterion that reads it
        try
        {
            for (int j = 0; j < k; j++)
            {
                if (j == k - 1) _overlap?.Arm();  // the last micro-batch's backward launches the bucket all-reduces (DDP's no_sync before)
                try
                {
                    var (loss, time, bytes) = ForwardBackward(batch.Images.narrow(0, j * micro, micro), batch.Labels.narrow(0, j * micro, micro),
                        content?.narrow(0, j * micro, micro), stepNumber);
                    globalLoss += loss / k;
                    timings.AddAllReduce(time, bytes);
                }
                finally
                {
                    _overlap?.Disarm();
                }
            }
        }
        catch
        {
            _overlap?.Abandon();
            throw;
        }
        timings.EndForwardBackward();
        return globalLoss;
    }

    /// <summary>
    /// Sums the accumulated gradient over the ranks into the flat gradient (with one rank, only flattens it): the
    /// buckets backward launched are waited for, or, without overlap, the whole gradient is all-reduced here.
    /// </summary>
    private void ReduceGradients(StepTimings timings)
    {
        _gradient.Flatten();
        int overlapped = 0;
        if (_gradient.Host is { } host)
        {
            TimeSpan waited;
            if (_overlap is { } overlap)
            {
                (waited, overlapped) = overlap.Finish();
            }
            else
            {
                waited = Timed(() =>
                {
                    host.Download(_gradient.Values);
                    _collective.Sum(host.Values);
                    host.Upload(_gradient.Values);
                });
            }
            timings.AddAllReduce(waited, 4L * host.Values.Length);
        }
        timings.EndReduction(buckets: _gradient.Host is null ? 0 : _overlap?.Buckets.Count ?? 1, overlapped);
    }

    /// <summary>
    /// Unscales the reduced, finite gradient by the loss scale backward used and clips it (clip_grad_norm_: scaled by
    /// max/(‖g‖ + 1e-6) when that is below 1), in one pass, then steps the optimiser; returns ‖g‖ before clipping. Every
    /// rank applies it to identical values. The scale is a power of two, so one multiply by c/S rounds as two would.
    /// </summary>
    private double ApplyUpdate(double scaledNorm, double lossScale, double learningRate, StepTimings timings)
    {
        var optimizerClock = Stopwatch.StartNew();
        double norm = scaledNorm / lossScale;
        double clip = _options.MaxGradientNorm is { } max ? Math.Min(1, max / (norm + 1e-6)) : 1;
        _gradient.Scale(clip / lossScale);
        _optimizer.Step(_gradient.Views, (float)learningRate);
        timings.Optimizer = optimizerClock.Elapsed;
        return norm;
    }

    /// <summary>Counts the step as completed (a step the fp16 loss scaler skipped too) and reports it.</summary>
    private StepResult Completed(double globalLoss, int images, StepTimings timings, double learningRate, double gradientNorm, bool skipped)
    {
        _completedSteps++;
        return new StepResult(globalLoss, images, timings.ForwardBackward, timings.AllReduce, timings.Optimizer, timings.AllReduceBytes, learningRate, gradientNorm)
        {
            LossScale = _precision.LossScale,  // after Update: the scale the next step uses
            Skipped = skipped,
            Buckets = timings.Buckets,
            OverlappedBuckets = timings.OverlappedBuckets,
            AllReduceBusy = timings.AllReduceBusy,
        };
    }

    /// <summary>
    /// Forward, loss normalised by the GLOBAL valid-pixel counts (soft masses for soft-label terms) of this micro-batch
    /// (one tiny all-reduce of [hi_0, lo_0, frac_0, ..., hi_T-1, lo_T-1, frac_T-1, S_0, ..., S_T-1], <see cref="ExactCount"/>),
    /// divided by the micro-batch count, and backward
    /// (gradients accumulate in the parameters' grads). Each micro-batch weighs 1/k, as loss / k does in
    /// PyTorch: identical to one k-times larger batch when the micro-batches have equal valid-pixel counts.
    /// </summary>
    private (double Loss, TimeSpan AllReduce, long Bytes) ForwardBackward(Tensor images, Tensor labels, Tensor? content, long stepNumber)
    {
        using var scope = NewDisposeScope();
        var output = Model.call(images);  // call(): the precision policy's hooks run
        var terms = _criterion.Terms(output, labels, images, content);

        // One readback of every count and sum. It waits for the forward, which backward must anyway: the loss divides by
        // the counts' all-reduce, which runs on the host. The sums ride along for the reported loss and its check.
        var (counts, sums) = terms.Read();
        int t = terms.Count;
        var stats = new float[4 * t];
        for (int i = 0; i < t; i++)
        {
            (stats[3 * i], stats[3 * i + 1], stats[3 * i + 2]) = ExactCount.ToParts(counts[i]);
            stats[3 * t + i] = (float)sums[i];
        }
        var allReduce = Timed(() => _collective.Sum(stats));
        var globalCounts = new double[t];
        double globalLoss = 0;
        for (int i = 0; i < t; i++)
        {
            globalCounts[i] = ExactCount.FromParts(stats[3 * i], stats[3 * i + 1], stats[3 * i + 2]);
            globalLoss += terms.Weights[i] * stats[3 * t + i] / SegmentationCriterion.Denominator(globalCounts[i]);
        }
        if (!double.IsFinite(globalLoss) && _precision.Scaler is null)  // fp16-mixed: the non-finite gradients skip the step
            throw new TrainingDivergedException(
                $"loss is {(double.IsNaN(globalLoss) ? "NaN" : "infinite")} at step {stepNumber} (rank {_reducer.Rank} of {_reducer.WorldSize}); " +
                "no parameter was changed. Lower the learning rate or check the inputs and the model weights.");

        var loss = SegmentationCriterion.Combine(terms, globalCounts);
        if (_options.AccumulationSteps > 1)
        {
            using var share = (1.0 / _options.AccumulationSteps).ToScalar();
            loss = loss.mul(share);
        }
        _precision.ScaleLoss(loss).backward();
        // A SyncBatchNorm sum that failed inside backward (cancelled, a peer lost) could not throw there: it fails the step
        // here, with the reducer's exception, before its zeroed gradients are reduced or applied.
        _statistics.ThrowIfBackwardFailed();
        return (globalLoss, allReduce, 4L * stats.Length);
    }

    /// <summary>A copy of the optimiser state (SGD: momentum; AdamW: both moments; flat, in parameter order) for checkpoints.</summary>
    public float[] OptimizerStateSnapshot() => _optimizer.Snapshot();

    /// <summary>
    /// Restores the optimiser state a checkpoint saved: the momentum buffer, the completed-step count (the schedule's
    /// position) and the optimiser's applied updates (AdamW's bias correction, SGD's first-step buffer). Call before the
    /// first <see cref="Step"/> after loading the model weights; every rank restores the same state.
    /// </summary>
    /// <param name="optimizerSteps">The saved <see cref="OptimizerSteps"/>; null (checkpoints written before it was kept)
    /// takes <paramref name="completedSteps"/>, exact unless the fp16 loss scaler skipped steps before the save.</param>
    public void RestoreOptimizerState(ReadOnlySpan<float> momentum, long completedSteps, long? optimizerSteps = null)
    {
        if (OptimizerStateMismatch(momentum.Length) is { } mismatch) throw new ArgumentException($"{mismatch}.", nameof(momentum));
        if (StepCountsProblem(completedSteps, optimizerSteps) is { } problem) throw new ArgumentOutOfRangeException(nameof(optimizerSteps), $"{problem}.");
        _optimizer.Restore(momentum, optimizerSteps ?? completedSteps);
        _completedSteps = completedSteps;
    }

    /// <summary>Why a saved optimiser state of <paramref name="length"/> values does not fit this trainer, or null when it
    /// does. <see cref="RestoreOptimizerState"/> refuses it; a checkpoint asks first, before any of its weights load.</summary>
    public string? OptimizerStateMismatch(long length) => length == _optimizer.StateLength
        ? null
        : $"the optimiser state has {length} values; this model's {_options.Kind} trainer needs {_optimizer.StateLength} " +
          "(a state of another optimizer kind? Resume with the optimizer it was trained with)";

    /// <summary>Why saved step counts are impossible, or null when they are not: completed steps are never negative, and
    /// the optimiser applied between none and all of them (the fp16 loss scaler only skips updates; null: all of them).
    /// <see cref="RestoreOptimizerState"/> refuses them; a checkpoint that records them is corrupt.</summary>
    public static string? StepCountsProblem(long completedSteps, long? optimizerSteps) =>
        (completedSteps, optimizerSteps ?? completedSteps) switch
        {
            ( < 0, _) => $"{completedSteps} completed steps (never negative)",
            (_, var applied) when applied < 0 || applied > completedSteps =>
                $"{applied} optimiser steps for {completedSteps} completed steps (the optimiser applies between none and all of them)",
            _ => null,
        };

    /// <summary>Gives the model back as it was handed in: hooks removed and SyncBatchNorm per rank again (its group was
    /// this trainer's stream, which ends here), so the model forwards and trains on without this trainer. Also undoes a
    /// constructor that threw part-way, hence the null checks.</summary>
    public void Dispose()
    {
        SyncBatchNorm2d.Attach(Model, null);
        _overlap?.Dispose();
        _stream?.Dispose();
        _precision?.Dispose();
        _optimizer?.Dispose();
        _gradient?.Dispose();
    }

    private static TimeSpan Timed(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start);
    }
}
