using static SegCluster.EndToEnd.Tests.HelmNodePodTests;
using static SegCluster.EndToEnd.Tests.HelmRenderer;
using static SegCluster.EndToEnd.Tests.HelmTemplate;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The chart's bundled Redis holds Orleans membership and every experiment's grain state: a StatefulSet with an
/// append-only file on its own claim, resources, probes and a password the nodes read from a Secret (as helm renders it).
/// </summary>
public sealed class HelmRedisTests
{
    private const string Name = FullName + "-redis";
    private static readonly Dictionary<object, object> Values =
        Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["redis"]);

    [RequiresHelmFact]
    public void Redis_keeps_an_append_only_file_on_a_claim_of_its_stateful_set()
    {
        var render = Defaults;
        Assert.Empty(render.OfKind("Deployment"));
        // Its governing Service is headless (the pod's stable DNS name); the nodes use the other, a ClusterIP Service.
        var governing = (string)Map(render.Redis["spec"])["serviceName"];
        Assert.Equal($"{Name}-headless", governing);
        Assert.Equal("None", Map(render.Get("Service", governing)["spec"])["clusterIP"]);
        Assert.False(Map(render.Get("Service", Name)["spec"]).ContainsKey("clusterIP"));
        var container = render.RedisContainer;
        var args = List(container["args"]).Cast<string>().ToList();
        Assert.Equal("yes", args[args.IndexOf("--appendonly") + 1]);
        Assert.Equal("/data", args[args.IndexOf("--dir") + 1]);
        var mount = List(container["volumeMounts"]).Select(Map).Single(m => (string)m["mountPath"] == "/data");

        var claim = Map(Assert.Single(List(Map(render.Redis["spec"])["volumeClaimTemplates"])));
        Assert.Equal(mount["name"], Map(claim["metadata"])["name"]);
        var spec = Map(claim["spec"]);
        Assert.Equal(["ReadWriteOnce"], List(spec["accessModes"]).Cast<string>());
        Assert.Equal(Map(Values["persistence"])["size"], Map(Map(spec["resources"])["requests"])["storage"]);
        Assert.False(spec.ContainsKey("storageClassName"));  // the cluster's default
        Assert.Equal("fast", Map(Map(Assert.Single(List(Map(Template("redis.persistence.storageClass=fast").Redis["spec"])["volumeClaimTemplates"])))["spec"])["storageClassName"]);
        Assert.DoesNotContain(List(Map(render.RedisPod["spec"])["volumes"]).Select(Map), v => Equals(v["name"], mount["name"]));

        // Only without persistence does the pod put /data on an emptyDir instead.
        var ephemeral = Template("redis.persistence.enabled=false");
        Assert.False(Map(ephemeral.Redis["spec"]).ContainsKey("volumeClaimTemplates"));
        Assert.Empty(Map(List(Map(ephemeral.RedisPod["spec"])["volumes"]).Select(Map).Single(v => Equals(v["name"], mount["name"]))["emptyDir"]));
    }

    [RequiresHelmFact]
    public void Redis_has_resources_and_probes_that_authenticate()
    {
        var render = Defaults;
        var container = render.RedisContainer;
        var resources = Map(container["resources"]);
        Assert.Equal(Values["resources"], resources);
        Assert.True(Map(resources["requests"]).ContainsKey("memory"));
        Assert.True(Map(resources["limits"]).ContainsKey("memory"));

        var readiness = string.Join(" ", List(Map(Map(container["readinessProbe"])["exec"])["command"]).Cast<string>());
        var liveness = string.Join(" ", List(Map(Map(container["livenessProbe"])["exec"])["command"]).Cast<string>());
        Assert.Contains("redis-cli ping", readiness);
        Assert.Contains("PONG", readiness);
        Assert.DoesNotContain("LOADING", readiness);
        Assert.Contains("LOADING", liveness);  // replaying the append-only file: alive, not ready
        // redis-cli reads the password from REDISCLI_AUTH (the Secret's "password"); the server from its config file, the
        // Secret's redis.conf, not from its command line, where the process list would show it.
        var reference = Map(Map(List(container["env"]).Select(Map).Single(e => (string)e["name"] == "REDISCLI_AUTH")["valueFrom"])["secretKeyRef"]);
        Assert.Equal(Name, reference["name"]);
        Assert.Equal("password", reference["key"]);
        var args = List(container["args"]).Cast<string>().ToList();
        Assert.Equal("/etc/redis/redis.conf", args[0]);
        Assert.DoesNotContain("--requirepass", args);
        var config = List(container["volumeMounts"]).Select(Map).Single(m => Equals(m["mountPath"], "/etc/redis"));
        var secret = Map(Map(List(Map(render.RedisPod["spec"])["volumes"]).Select(Map).Single(v => Equals(v["name"], config["name"])))["secret"]);
        Assert.Equal(Name, secret["secretName"]);
        Assert.Equal("redis.conf", Map(Assert.Single(List(secret["items"])))["path"]);
        Assert.Equal($"requirepass \"{render.SecretValue(Name, "password")}\"\n", render.SecretValue(Name, "redis.conf"));
    }

    [RequiresHelmFact]
    public void The_password_is_generated_once_kept_on_upgrade_and_is_in_the_nodes_configuration_string()
    {
        // redis.auth.password, else the Secret's own (lookup), else a random one: segcluster.keptSecretValue, as the token.
        var generated = Defaults.SecretValue(Name, "password");
        Assert.Matches("^[A-Za-z0-9]{32}$", generated);
        // The key the nodes read (segcluster.redisSecretKey when bundled): the bundled Service's address with the password.
        Assert.Equal($"{Name}:6379,password={generated}", Defaults.SecretValue(Name, "connection"));
        var given = Template("redis.auth.password=correct-horse-battery-staple");
        Assert.Equal("correct-horse-battery-staple", given.SecretValue(Name, "password"));
        Assert.Equal($"{Name}:6379,password=correct-horse-battery-staple", given.SecretValue(Name, "connection"));
        Assert.Equal("requirepass \"correct-horse-battery-staple\"\n", given.SecretValue(Name, "redis.conf"));

        // Kept on upgrade: the lookup of the release's Secret, which no render without a cluster reaches.
        Assert.Equal("{{- include \"segcluster.keptSecretValue\" (dict \"context\" . \"secret\" (include \"segcluster.redisSecretName\" .) \"key\" \"password\" \"value\" .Values.redis.auth.password) -}}",
            Define("segcluster.redisPassword"));
        InOrder("segcluster.keptSecretValue", Define("segcluster.keptSecretValue"), "{{- $value := include \"segcluster.scalar\" .value -}}", "{{- if not $value -}}",
            "{{- $value = dig \"data\" .key \"\" (lookup \"v1\" \"Secret\" .context.Release.Namespace .secret) | b64dec -}}",
            "{{- $_ := set $kept $id (default (randAlphaNum 32) $value) -}}");
    }

    /// <summary>Redis and the nodes read the password only at start: a password changed on upgrade (redis.auth.password,
    /// or a Secret deleted and generated anew) must restart both, and one kept by the upgrade neither.</summary>
    [RequiresHelmFact]
    public void A_changed_password_restarts_redis_and_the_nodes_and_a_kept_one_neither()
    {
        const string Checksum = "checksum/redis-password";
        // One value per render: a generated password is made once, so the Secret, Redis' hash and the nodes' hash agree
        // at install too; made in each template, the first upgrade (which looks the Secret's value up) would restart
        // every pod for nothing.
        foreach (var render in new[] { Defaults, Template("redis.auth.password=correct-horse-battery-staple") })
        {
            var hash = Sha256(render.SecretValue(Name, "password"));
            Assert.Equal(hash, Rendered.Annotations(render.RedisPod)[Checksum]);
            Assert.Equal(hash, Rendered.Annotations(render.NodePod)[Checksum]);
        }
        Assert.Equal(Sha256("correct-horse-battery-staple"), Rendered.Annotations(Template("redis.auth.password=correct-horse-battery-staple").NodePod)[Checksum]);
        // An existingSecret's or external Redis' password is not the chart's to hash.
        Assert.False(Rendered.Annotations(Template("redis.bundled=false", "redis.existingSecret=shared-redis").NodePod).ContainsKey(Checksum));

        // Generated or looked up only in segcluster.keptSecretValue, where the value is remembered for the render.
        var kept = Define("segcluster.keptSecretValue");
        foreach (var template in Directory.GetFiles(RepoPaths.Of("helm", "segcluster", "templates")))
        {
            var text = Path.GetFileName(template) == "_helpers.tpl" ? File.ReadAllText(template).Replace(kept, "") : File.ReadAllText(template);
            Assert.DoesNotContain("randAlphaNum", text);
            Assert.DoesNotContain("lookup \"v1\" \"Secret\"", text);
        }
    }
}
