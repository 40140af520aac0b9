using SegCluster.Cli.Commands;
using SegCluster.Vision.Devices;

// For the whole process, whichever command runs torch (quickstart, model info, spectral).
using var nativeWarnings = NativeWarningFilter.Install();
return await SegClusterCommandLine.Create().Parse(args).InvokeAsync();
