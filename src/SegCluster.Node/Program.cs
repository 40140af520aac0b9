using SegCluster.Abstractions;
using SegCluster.Node.Hosting;
using SegCluster.Vision.Devices;

// A SegCluster node: Orleans silo + gRPC collective + /health + /metrics. Settings come from
// appsettings.json, SEGCLUSTER_-prefixed environment variables and --Section:Key=value arguments.
using var nativeWarnings = NativeWarningFilter.Install();
var builder = WebApplication.CreateBuilder(args);
builder.AddSegClusterNode();
// An external-libtorch build loads libtorch before any grain touches torch (Node:LibTorch, from any source
// AddSegClusterNode ranks, SEGCLUSTER_Node__LibTorch included; or SEGCLUSTER_LIBTORCH).
ExternalLibTorch.Select(builder.Configuration["Node:LibTorch"]);

var app = builder.Build();
try
{
    app.MapSegClusterNode();  // reads the node options: their validation fails here
    app.Run();
}
catch (Exception e) when (StartRefusal.Find(e) is { } refusal)
{
    Console.Error.WriteLine($"error: {refusal.UserMessage()}");  // a setting to change, not a crash: no stack
    return 2;
}
return 0;
