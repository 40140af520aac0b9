namespace SegCluster.Vision.Training;

/// <summary>
/// A run failure whose message is the whole story: it names what to change (a setting, the data, the learning rate). A
/// cluster logs it without a stack and does not retry it, as the same run fails the same way on every attempt; any other
/// exception may be a bug, or a lost peer, and is retried.
/// </summary>
public abstract class ExplainedRunException(string message, Exception? innerException = null) : Exception(message, innerException);
