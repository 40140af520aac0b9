namespace SegCluster.Vision.Devices;

/// <summary>The libtorch the user chose could not be found or used; the message says what was looked for.</summary>
public sealed class LibTorchLoadException(string message, Exception? inner = null) : Exception(message, inner);
