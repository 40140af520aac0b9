using SegCluster.Abstractions.Grains;

namespace SegCluster.Abstractions.Tests.Grains;

/// <summary>RunIds.Problem: an id names a checkpoint folder (a sweep's nests "{sweep}/{trial}/a{attempt}" under it), so
/// one that could leave the checkpoint directory, collide, or break a ring's "id#attempt" is refused with a message
/// naming the id the way the caller calls it.</summary>
public sealed class RunIdsTests
{
    [Theory]
    [InlineData("run")]
    [InlineData("lr-0.01_bs 8")]
    [InlineData("sweep/trial-3/a1")]  // a sweep's trial run: slashes separate folders
    [InlineData("..x/.y/z..")]        // dots inside a segment are a name, not a step up
    public void A_usable_id_has_no_problem(string id) => Assert.Null(RunIds.Problem(id));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_id_is_refused(string? id) => Assert.Equal("experiment id must not be empty.", RunIds.Problem(id));

    [Fact]
    public void An_id_over_the_maximum_length_is_refused_quoting_only_its_start()
    {
        Assert.Null(RunIds.Problem(new string('a', RunIds.MaxLength)));
        var id = new string('a', RunIds.MaxLength + 1);
        Assert.Equal($"experiment id '{new string('a', 20)}...' has {RunIds.MaxLength + 1} characters; use at most {RunIds.MaxLength}.",
            RunIds.Problem(id));
    }

    [Theory]
    [InlineData("run#2")]        // '#' separates the id from the attempt in a ring's id
    [InlineData(@"runs\one")]
    [InlineData("run\none")]
    [InlineData("run\tone")]
    [InlineData("run\u0007")]
    public void Hash_backslash_and_control_characters_are_refused(string id) =>
        Assert.Equal($"experiment id '{id}' must not contain '#', '\\' or control characters.", RunIds.Problem(id));

    [Theory]
    [InlineData("/run")]
    [InlineData("run/")]
    [InlineData("sweep//trial")]
    [InlineData("sweep/ /trial")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../other")]
    [InlineData("sweep/../../etc")]
    [InlineData("sweep/ .. /trial")]  // trimmed, still a step up
    public void An_empty_dot_or_dot_dot_segment_is_refused_as_it_would_leave_or_collide_in_the_checkpoint_directory(string id) =>
        Assert.Equal($"experiment id '{id}' has an empty, '.' or '..' part between slashes; it names a folder under the checkpoint directory.",
            RunIds.Problem(id));

    [Fact]
    public void The_message_names_the_id_as_the_caller_does()
    {
        Assert.Equal("--id must not be empty.", RunIds.Problem("", "--id"));
        Assert.StartsWith("sweep id 'a#b' must not contain", RunIds.Problem("a#b", "sweep id"), StringComparison.Ordinal);
    }
}
