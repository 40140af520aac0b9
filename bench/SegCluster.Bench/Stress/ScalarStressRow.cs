namespace SegCluster.Bench.Stress;

/// <summary>One child run of `scalar-stress`: crashed or not, the last step it finished and the first error line.</summary>
public sealed record ScalarStressRow(int Seed, bool Crashed, int ExitCode, int LastStep, double Seconds, string? Error);
