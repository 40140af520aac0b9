namespace SegCluster.Abstractions;

/// <summary>Exception messages as a user reads them.</summary>
public static class UserMessages
{
    /// <summary>
    /// <paramref name="exception"/>'s message without the " (Parameter 'name')" that <see cref="ArgumentException.Message"/>
    /// appends for its <see cref="ArgumentException.ParamName"/>: the parameter is the code's, not an option or field the
    /// user can change. Dataset readers and options validators throw with one ('root', 'split', 'options'). Orleans keeps the
    /// suffix in the message and drops ParamName, so an exception that crosses a grain call should carry none.
    /// </summary>
    public static string UserMessage(this Exception exception)
    {
        var message = exception.Message;
        if (exception is not ArgumentException { ParamName: { Length: > 0 } name }) return message;
        var suffix = new ArgumentException("", name).Message;  // " (Parameter 'name')", in the runtime's words
        return message.EndsWith(suffix, StringComparison.Ordinal) ? message[..^suffix.Length] : message;
    }
}
