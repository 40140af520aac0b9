namespace SegCluster.Abstractions.Specs.Files;

/// <summary>On-disk format of a spec; YAML is a superset of JSON, so either parses as YAML.</summary>
public enum SpecFormat
{
    Yaml,
    Json,
}
