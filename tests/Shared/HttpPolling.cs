namespace SegCluster.Tests.Shared;

/// <summary>
/// HTTP calls polled until a server the test started (a child process, or a node in this one) answers. "Not yet" takes
/// two forms: a server not listening yet, or no more, refuses the connection (<see cref="HttpRequestException"/>), and a
/// server too busy to answer within the client's timeout, as on CI's 2 loaded cores, ends the call with a
/// <see cref="TaskCanceledException"/>. A loop that catches only the first lets the second fail the test.
/// </summary>
internal static class HttpPolling
{
    /// <summary>Whether <paramref name="e"/> says only that the server did not answer (yet): poll again.</summary>
    public static bool IsNoAnswer(Exception e) => e is HttpRequestException or TaskCanceledException;

    /// <summary>The body of a successful GET <paramref name="uri"/>, or null when the server refused, timed out or
    /// answered with an error status.</summary>
    public static async Task<string?> TryGetStringAsync(this HttpClient http, string uri)
    {
        try
        {
            return await http.GetStringAsync(uri);
        }
        catch (Exception e) when (IsNoAnswer(e))
        {
            return null;
        }
    }
}
