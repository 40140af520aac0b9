using SegCluster.Node.Hosting;
using SegCluster.Vision.Devices;

// A SegCluster node: Orleans silo + gRPC collective + /health + /metrics. Settings come from
// appsettings.json, SEGCLUSTER_-prefixed environment variables and --Section:Key=value arguments.
using var nativeWarnings = NativeWarningFilter.Install();
var builder = WebApplication.CreateBuilder(args);
builder.AddSegClusterNode();

var app = builder.Build();
app.MapSegClusterNode();
app.Run();
