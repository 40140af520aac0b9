using SegCluster.Node.Hosting;

// A SegCluster node: Orleans silo + gRPC collective + /health + /metrics. Settings come from
// appsettings.json, SEGCLUSTER_-prefixed environment variables and --Section:Key=value arguments.
var builder = WebApplication.CreateBuilder(args);
builder.AddSegClusterNode();

var app = builder.Build();
app.MapSegClusterNode();
app.Run();
