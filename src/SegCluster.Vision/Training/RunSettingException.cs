namespace SegCluster.Vision.Training;

/// <summary>
/// A setting of the run that this model or data cannot train with (e.g. a batch of one image through BatchNorm over a 1×1
/// feature); the message names the setting and the fix, so it is the whole story: a cluster logs it without a stack and
/// does not retry it, as the same settings fail the same way on every attempt.
/// </summary>
public sealed class RunSettingException(string message) : ExplainedRunException(message);
