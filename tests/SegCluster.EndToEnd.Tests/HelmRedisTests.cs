using static SegCluster.EndToEnd.Tests.HelmNodePodTests;

namespace SegCluster.EndToEnd.Tests;

/// <summary>
/// The chart's bundled Redis holds Orleans membership and every experiment's grain state: a StatefulSet with an
/// append-only file on its own claim, resources, probes and a password the nodes read from a Secret.
/// </summary>
public sealed class HelmRedisTests
{
    private static readonly string Template = RepoPaths.Of("helm", "segcluster", "templates", "redis.yaml");
    private static readonly List<Dictionary<object, object>> Objects = HelmTemplate.LoadAll(Template);
    private static readonly Dictionary<object, object> StatefulSet = Objects.Single(o => (string)o["kind"] == "StatefulSet");
    private static readonly Dictionary<object, object> Container =
        Map(Assert.Single(List(Map(Map(Map(StatefulSet["spec"])["template"])["spec"])["containers"])));
    private static readonly Dictionary<object, object> Values =
        Map(DeploymentFilesTests.LoadYaml(RepoPaths.Of("helm", "segcluster", "values.yaml"))["redis"]);

    [Fact]
    public void Redis_keeps_an_append_only_file_on_a_claim_of_its_stateful_set()
    {
        Assert.DoesNotContain(Objects, o => (string)o["kind"] == "Deployment");
        // Its governing Service is headless (the pod's stable DNS name); the nodes use the other, a ClusterIP Service.
        var services = Objects.Where(o => (string)o["kind"] == "Service").ToDictionary(o => (string)Map(o["metadata"])["name"], o => Map(o["spec"]));
        var governing = (string)Map(StatefulSet["spec"])["serviceName"];
        Assert.Equal("None", services[governing]["clusterIP"]);
        Assert.Single(services.Values, s => !s.ContainsKey("clusterIP"));
        var args = List(Container["args"]).Cast<string>().ToList();
        Assert.Equal("yes", args[args.IndexOf("--appendonly") + 1]);
        Assert.Equal("/data", args[args.IndexOf("--dir") + 1]);
        var mount = List(Container["volumeMounts"]).Select(Map).Single(m => (string)m["mountPath"] == "/data");

        var claim = Map(Assert.Single(List(Map(StatefulSet["spec"])["volumeClaimTemplates"])));
        Assert.Equal(mount["name"], Map(claim["metadata"])["name"]);
        var spec = Map(claim["spec"]);
        Assert.Equal(["ReadWriteOnce"], List(spec["accessModes"]).Cast<string>());
        Assert.Equal(HelmTemplate.Action(".Values.redis.persistence.size"), Map(Map(spec["resources"])["requests"])["storage"]);
        Assert.Equal(HelmTemplate.Action(". | quote"), spec["storageClassName"]);
        // Only without persistence does the pod put /data on an emptyDir instead.
        var text = File.ReadAllText(Template);
        Assert.Matches(@"\{\{-\s*if not \.Values\.redis\.persistence\.enabled\s*\}\}\n(\s*#[^\n]*\n)*\s*- name: data\n\s*emptyDir:", text);
        Assert.Matches(@"\{\{-\s*if \.Values\.redis\.persistence\.enabled\s*\}\}\n(\s*#[^\n]*\n)*\s*volumeClaimTemplates:", text);

        var persistence = Map(Values["persistence"]);
        Assert.Equal("true", persistence["enabled"]);
        Assert.Equal("", persistence["storageClass"]);
        Assert.Matches(@"^\d+[GM]i$", (string)persistence["size"]);
    }

    [Fact]
    public void Redis_has_resources_and_probes_that_authenticate()
    {
        Assert.Contains("{{- toYaml .Values.redis.resources | nindent 12 }}", File.ReadAllText(Template));
        var resources = Map(Values["resources"]);
        Assert.True(Map(resources["requests"]).ContainsKey("memory"));
        Assert.True(Map(resources["limits"]).ContainsKey("memory"));

        var readiness = string.Join(" ", List(Map(Map(Container["readinessProbe"])["exec"])["command"]).Cast<string>());
        var liveness = string.Join(" ", List(Map(Map(Container["livenessProbe"])["exec"])["command"]).Cast<string>());
        Assert.Contains("redis-cli ping", readiness);
        Assert.Contains("PONG", readiness);
        Assert.DoesNotContain("LOADING", readiness);
        Assert.Contains("LOADING", liveness);  // replaying the append-only file: alive, not ready
        // redis-cli reads the password from REDISCLI_AUTH (the Secret's "password"); the server from its config file, the
        // Secret's redis.conf, not from its command line, where the process list would show it.
        var reference = Map(Map(List(Container["env"]).Select(Map).Single(e => (string)e["name"] == "REDISCLI_AUTH")["valueFrom"])["secretKeyRef"]);
        Assert.Equal(HelmTemplate.Action("include \"segcluster.redisSecretName\" ."), reference["name"]);
        Assert.Equal("password", reference["key"]);
        var args = List(Container["args"]).Cast<string>().ToList();
        Assert.Equal("/etc/redis/redis.conf", args[0]);
        Assert.DoesNotContain("--requirepass", args);
        Assert.Contains("/etc/redis", List(Container["volumeMounts"]).Select(Map).Select(m => (string)m["mountPath"]));
        Assert.Contains("redis.conf: {{ printf \"requirepass %s\\n\" ($password | quote) | b64enc | quote }}", File.ReadAllText(Template));
    }

    [Fact]
    public void The_password_is_generated_once_kept_on_upgrade_and_is_in_the_nodes_configuration_string()
    {
        var secret = Objects.Single(o => (string)o["kind"] == "Secret");
        Assert.Equal(HelmTemplate.Action("include \"segcluster.redisSecretName\" ."), Map(secret["metadata"])["name"]);
        // redis.auth.password, else the Secret's own (lookup), else a random one: segcluster.keptSecretValue, as the token.
        Assert.Contains("{{- $password := include \"segcluster.redisPassword\" . }}", File.ReadAllText(Template));
        Assert.Equal("{{- include \"segcluster.keptSecretValue\" (dict \"context\" . \"secret\" (include \"segcluster.redisSecretName\" .) \"key\" \"password\" \"value\" .Values.redis.auth.password) -}}",
            Define("segcluster.redisPassword"));
        var kept = Define("segcluster.keptSecretValue");
        InOrder("segcluster.keptSecretValue", kept, "{{- $value := .value | default \"\" | toString -}}", "{{- if not $value -}}",
            "{{- $value = dig \"data\" .key \"\" (lookup \"v1\" \"Secret\" .context.Release.Namespace .secret) | b64dec -}}",
            "{{- $_ := set $kept $id (default (randAlphaNum 32) $value) -}}");
        var data = Map(secret["data"]);
        Assert.Equal(HelmTemplate.Action("$password | b64enc | quote"), data["password"]);
        // The key the nodes read (segcluster.redisSecretKey when bundled): the bundled Service's address with the password.
        Assert.Equal(HelmTemplate.Action("printf \"%s,password=%s\" (include \"segcluster.redisAddress\" .) $password | b64enc | quote"), data["connection"]);
        Assert.Contains("connection", Define("segcluster.redisSecretKey"));
        Assert.Equal("", Map(Values["auth"])["password"]);
    }

    /// <summary>Redis and the nodes read the password only at start: a password changed on upgrade (redis.auth.password,
    /// or a Secret deleted and generated anew) must restart both, and one kept by the upgrade neither.</summary>
    [Fact]
    public void A_changed_password_restarts_redis_and_the_nodes_and_a_kept_one_neither()
    {
        // Redis' pod: the hash of $password, the value its Secret stores (password, connection, redis.conf).
        var annotations = Map(Map(Map(StatefulSet["spec"])["template"])["metadata"])["annotations"];
        Assert.Equal(HelmTemplate.Action("$password | sha256sum | quote"), Map(annotations)["checksum/redis-password"]);
        // The nodes' pods (bundled Redis only: an existingSecret is not the chart's to hash): the same value, from the helper.
        Assert.Equal(HelmTemplate.Action("include \"segcluster.redisPassword\" . | sha256sum | quote"),
            Map(Map(NodePod["metadata"])["annotations"])["checksum/redis-password"]);
        var nodes = File.ReadAllText(RepoPaths.Of("helm", "segcluster", "templates", "statefulset.yaml"));
        Assert.Matches(@"\{\{-\s*if \.Values\.redis\.bundled\s*\}\}\n\s*checksum/redis-password: ", nodes);

        // One value per render: a generated password is made once and remembered (in .Values, which every template of a
        // render shares), so the Secret, Redis' hash and the nodes' hash agree at install too; made in each template, the
        // first upgrade (which looks the Secret's value up) would restart every pod for nothing.
        var kept = Define("segcluster.keptSecretValue");
        InOrder("segcluster.keptSecretValue", kept, "{{- $kept := get .context.Values \"segcluster.kept\" -}}",
            "{{- if not (hasKey $kept $id) -}}", "{{- $_ := set $kept $id ", "{{- end -}}", "{{- get $kept $id -}}");
        Assert.Contains("{{- $_ := set .context.Values \"segcluster.kept\" (dict) -}}", kept);
        foreach (var template in Directory.GetFiles(RepoPaths.Of("helm", "segcluster", "templates")))
        {
            var text = Path.GetFileName(template) == "_helpers.tpl" ? File.ReadAllText(template).Replace(kept, "") : File.ReadAllText(template);
            Assert.DoesNotContain("randAlphaNum", text);
            Assert.DoesNotContain("lookup \"v1\" \"Secret\"", text);
        }
    }
}
