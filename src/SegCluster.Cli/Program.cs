using SegCluster.Cli.Commands;

return await SegClusterCommandLine.Create().Parse(args).InvokeAsync();
