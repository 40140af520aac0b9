using SegCluster.Vision.Models;
using SegCluster.Vision.Models.Backbones;
using SegCluster.Vision.Models.Decoders;
using SegCluster.Vision.Models.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace SegCluster.Vision.Tests.Models;

/// <summary>
/// SPGNet's cross-stage wiring (PAPERS.md §1): stage 2 aggregates stage 1's SPG-refined feature F' = F + F ⊙ σ(Conv1×1(P)),
/// not the decoder feature F the SPG module received. The tiny encoder's decoder stops at level 0 (stride 2), where SPG sits.
/// </summary>
public sealed class SpgNetTests
{
    /// <summary>Changing the SPG attention's bias changes σ(Conv1×1(P)) and so F', not P: stage 1's prediction stays, and the
    /// stage-2 logits move only if stage 2 reads F'. Were stage 2 fed F, the bias would be dead weight for the logits.</summary>
    [Fact]
    public void The_spg_attention_reaches_stage_two_but_not_the_stage_one_prediction()
    {
        using var scope = NewDisposeScope();
        var (spgnet, images) = EvalModelAndImages(seed: 5);
        using var model = spgnet;
        using var noGrad = no_grad();
        var before = model.forward(images);
        var prediction = before.Auxiliary.Single().clone();
        var logits = before.Logits.clone();

        var attend = (TorchSharp.Modules.Conv2d)Child<SemanticPredictionGuidance>(model, "spg").named_children().Single(c => c.name == "attend").module;
        attend.bias!.add_(2.0);
        var after = model.forward(images);

        Assert.True(after.Auxiliary.Single().allclose(prediction, rtol: 0, atol: 0), "the attention's bias changed the stage-1 prediction P");
        double moved = (after.Logits - logits).abs().max().item<float>();
        Assert.True(moved > 1e-3, $"the stage-2 logits moved by at most {moved}: stage 2 does not read the SPG-refined feature F'");
    }

    /// <summary>The model's forward equals stage 1 → SPG → stage 2 written out from its own submodules, with stage 2's level l
    /// summed with projections of stage 1's encoder feature at l and decoder feature at l, the finest one being F' (and the
    /// same composition with F in its place gives other logits, so the check tells the two apart).</summary>
    [Fact]
    public void Stage_two_aggregates_each_levels_stage_one_features_with_the_refined_feature_at_the_finest()
    {
        using var scope = NewDisposeScope();
        var (spgnet, images) = EvalModelAndImages(seed: 6);
        using var model = spgnet;
        using var noGrad = no_grad();
        var encoder1 = Child<Encoder>(model, "encoder1");
        var decoder1 = Child<LightDecoder>(model, "decoder1");
        var spg = Child<SemanticPredictionGuidance>(model, "spg");
        var encoder2 = Child<Encoder>(model, "encoder2");
        var aggregation = Child<CrossStageAggregation>(model, "aggregation");
        var decoder2 = Child<LightDecoder>(model, "decoder2");
        var head = Child<SegmentationHead>(model, "head");
        Assert.Equal(0, decoder1.StopLevel);

        var enc1 = encoder1.call(images);                       // 4 levels, strides 2..16
        var dec1 = decoder1.call(enc1);                         // the same 4 levels, finest first
        var (refined, prediction) = spg.call(dec1[0]);          // F' and P at stride 2
        Tensor StageTwo(Tensor finest)
        {
            var enc2 = encoder2.Forward(images, (level, x) => aggregation.Aggregate(level, x, enc1[level], level == 0 ? finest : dec1[level]));
            return head.call(decoder2.call(enc2)[0], [32, 32]);
        }

        var output = model.forward(images);
        Assert.True(output.Auxiliary.Single().allclose(prediction, rtol: 1e-5, atol: 1e-6));
        var withRefined = StageTwo(refined);
        Assert.True(output.Logits.allclose(withRefined, rtol: 1e-4, atol: 1e-5),
            $"max |Δ| = {(output.Logits - withRefined).abs().max().item<float>()} from stage 2 fed F'");
        Assert.False(output.Logits.allclose(StageTwo(dec1[0]), rtol: 1e-4, atol: 1e-5), "F and F' gave the same logits: the check cannot tell them apart");
    }

    /// <summary>A tiny SPGNet (K = 3, width 4) in eval mode, GroupNorm so no batch statistics, and two 32×32 images.</summary>
    private static (SegmentationModel Model, Tensor Images) EvalModelAndImages(int seed)
    {
        var model = TestData.Model("spgnet", numClasses: 3, width: 4, NormKind.GroupNorm, seed);
        model.eval();
        return (model, randn(2, 3, 32, 32));  // drawn after the model from the same seeded generator
    }

    private static T Child<T>(nn.Module module, string name) where T : nn.Module =>
        (T)module.named_children().Single(c => c.name == name).module;
}
