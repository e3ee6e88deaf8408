using System.Diagnostics;
using System.Text.Json.Nodes;
using BgFetchCluster.Node.Configuration;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace BgFetchCluster.Node.Tests;

/// <summary>
/// The Kubernetes manifests (<c>deploy/k8s</c>): every overlay renders with <c>kubectl kustomize</c>, has the objects
/// a cluster needs, probes on <c>/ready</c> and <c>/alive</c>, and sets only <c>BgFetch__</c> keys the node binds.
/// </summary>
public sealed class DeployManifestTests
{
    public static TheoryData<string> Overlays() => [.. OverlayNames()];

    [Fact]
    public void Overlays_IncludeDev() => Assert.Contains("dev", OverlayNames());

    private static IEnumerable<string> OverlayNames() =>
        Directory.GetDirectories(Path.Combine(DeployDirectory(), "overlays")).Select(static d => Path.GetFileName(d)).Order(StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Overlay_Renders_TheObjectsOfACluster(string overlay)
    {
        var objects = Render(overlay);
        string[] kinds = ["StatefulSet", "Service", "ServiceAccount", "Role", "RoleBinding", "PodDisruptionBudget", "ConfigMap", "Secret"];
        foreach (var kind in kinds)
        {
            Assert.True(objects.Any(o => Str(o["kind"]) == kind), $"{overlay}: no {kind}");
        }

        var set = Single(objects, "StatefulSet");
        var pod = set["spec"]!["template"]!["spec"]!;
        Assert.True(int.Parse(Str(pod["terminationGracePeriodSeconds"]), System.Globalization.CultureInfo.InvariantCulture) >= 60, "the hand-off needs a grace period of at least 60 s");
        Assert.Equal("true", Str(pod["securityContext"]!["runAsNonRoot"]));
        var account = Str(Single(objects, "ServiceAccount")["metadata"]!["name"]);
        Assert.Equal(account, Str(pod["serviceAccountName"]));
        Assert.Contains(Single(objects, "RoleBinding")["subjects"]!.AsArray(), s => Str(s!["name"]) == account);
        var container = pod["containers"]!.AsArray()[0]!;
        Assert.Equal("/ready", Str(container["readinessProbe"]!["httpGet"]!["path"]));
        Assert.Equal("/alive", Str(container["livenessProbe"]!["httpGet"]!["path"]));
        Assert.Equal("true", Str(container["securityContext"]!["readOnlyRootFilesystem"]));
        Assert.NotNull(container["resources"]!["requests"]);
        Assert.Contains(container["volumeMounts"]!.AsArray(), m => Str(m!["mountPath"]) == "/tmp");
        var ports = container["ports"]!.AsArray().Select(p => Str(p!["containerPort"])).ToList();
        Assert.Equal(["8080", "4053", "8558"], ports);

        // The pod's own IP is its Akka.Remote hostname; the connection string comes from a Secret.
        var env = container["env"]!.AsArray();
        Assert.Contains(env, e => Str(e!["name"]) == "BgFetch__Cluster__Hostname" && Str(e["valueFrom"]?["fieldRef"]?["fieldPath"]) == "status.podIP");
        Assert.Contains(env, e => Str(e!["name"]) == "BgFetch__Storage__ConnectionString" && e["valueFrom"]?["secretKeyRef"] is not null);
        Assert.Contains(container["envFrom"]!.AsArray(), e => e!["secretRef"] is not null);

        var headless = objects.Single(o => Str(o["kind"]) == "Service" && Str(o["spec"]!["clusterIP"]) == "None");
        Assert.Equal(Str(set["spec"]!["serviceName"]), Str(headless["metadata"]!["name"]));
        var headlessPorts = headless["spec"]!["ports"]!.AsArray().Select(p => Str(p!["port"])).ToList();
        Assert.Contains("4053", headlessPorts);
        Assert.Contains("8558", headlessPorts);
        Assert.Contains(objects, o => Str(o["kind"]) == "Service" && o["spec"]!["ports"]!.AsArray().Any(p => Str(p!["port"]) == "8080"));

        var role = Single(objects, "Role");
        var rule = role["rules"]!.AsArray().Single(r => r!["resources"]!.AsArray().Any(x => Str(x) == "pods"))!;
        Assert.Equal(["get", "list", "watch"], rule["verbs"]!.AsArray().Select(v => Str(v)).Order(StringComparer.Ordinal));

        var settings = Single(objects, "ConfigMap")["data"]!;
        Assert.Equal("Kubernetes", Str(settings["BgFetch__Cluster__Discovery"]));
        Assert.Equal("PostgreSql", Str(settings["BgFetch__Storage__Provider"]));
        Assert.Equal("4053", Str(settings["BgFetch__Cluster__Port"]));
        Assert.False(string.IsNullOrEmpty(Str(settings["ASPNETCORE_URLS"])));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Overlay_SetsOnlyKeysTheNodeBinds(string overlay)
    {
        var objects = Render(overlay);
        var variables = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var map in objects.Where(o => Str(o["kind"]) == "ConfigMap"))
        {
            foreach (var (name, value) in map["data"]?.AsObject() ?? [])
            {
                variables[name] = Str(value);
            }
        }

        foreach (var secret in objects.Where(o => Str(o["kind"]) == "Secret"))
        {
            foreach (var (name, _) in secret["data"]?.AsObject() ?? [])
            {
                variables[name] = "secret";
            }
        }

        foreach (var env in Single(objects, "StatefulSet")["spec"]!["template"]!["spec"]!["containers"]!.AsArray()[0]!["env"]!.AsArray())
        {
            variables[Str(env!["name"])] = Str(env["value"]) is { Length: > 0 } value ? value : "10.0.0.5";
        }

        var bgfetch = variables.Where(static v => v.Key.StartsWith("BgFetch__", StringComparison.Ordinal))
            .ToDictionary(static v => v.Key.Replace("__", ":", StringComparison.Ordinal), static v => v.Value);
        Assert.NotEmpty(bgfetch);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(bgfetch).Build();

        // An unknown key (a typo, a setting that was renamed) would be ignored by the node: refuse it here.
        var settings = configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>(static o => o.ErrorOnUnknownConfiguration = true)!;
        settings.Validate(isDevelopment: false);
        Assert.Equal(ClusterDiscovery.Kubernetes, settings.Cluster.Discovery);
        Assert.Equal(4053, settings.Cluster.Port);
    }

    [Fact]
    public void Binding_AnUnknownKey_IsRefused()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["BgFetch:Cluster:Seeds"] = "x" }).Build();
        Assert.Throws<InvalidOperationException>(() => configuration.GetSection(BgFetchSettings.SectionName).Get<BgFetchSettings>(static o => o.ErrorOnUnknownConfiguration = true));
    }

    private static JsonNode Single(List<JsonNode> objects, string kind) => objects.Single(o => Str(o["kind"]) == kind);

    private static string Str(JsonNode? node) => node?.ToString() ?? "";

    private static List<JsonNode> Render(string overlay)
    {
        var directory = Path.Combine(DeployDirectory(), "overlays", overlay);
        ProcessStartInfo info = new("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("kustomize");
        info.ArgumentList.Add(directory);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new InvalidOperationException("kubectl is not on the PATH: these tests render deploy/k8s with 'kubectl kustomize'. Install kubectl.", exception);
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var yaml = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory} failed: {errors.Result}");
            return Parse(yaml);
        }
    }

    private static List<JsonNode> Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var objects = new List<JsonNode>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize<object>(parser);
            if (document is not null)
            {
                objects.Add(JsonNode.Parse(json.Serialize(document))!);
            }
        }

        return objects;
    }

    private static string DeployDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy", "k8s");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"No deploy/k8s above {AppContext.BaseDirectory}.");
    }
}
