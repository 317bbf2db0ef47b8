using System.Globalization;
using System.Text;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Renders <see cref="ClusterSettings"/> as HOCON. Keys (checked against the reference.conf files embedded
/// in Akka.Remote / Akka.Cluster 1.5.74): <c>akka.actor.provider</c>; <c>akka.remote.log-remote-lifecycle-events</c>;
/// <c>akka.remote.dot-netty.tcp.{hostname, port, public-hostname, maximum-frame-size, enable-ssl}</c> and
/// <c>…tcp.ssl.{certificate.path, certificate.password, suppress-validation, require-mutual-authentication,
/// validate-certificate-hostname}</c>; <c>akka.remote.retry-gate-closed-for</c>;
/// <c>akka.cluster.{seed-nodes, seed-node-timeout, roles, downing-provider-class}</c>,
/// <c>akka.cluster.failure-detector.{heartbeat-interval, acceptable-heartbeat-pause}</c>,
/// <c>akka.cluster.split-brain-resolver.{active-strategy, stable-after, keep-oldest.down-if-alone, &lt;strategy&gt;.role}</c>.</summary>
internal static class ClusterHocon
{
    /// <summary>The HOCON text of the settings (assumed valid).</summary>
    public static string Render(ClusterSettings s)
    {
        var b = new StringBuilder();
        b.AppendLine("akka.actor.provider = cluster");
        b.AppendLine(StrictSerialization.Hocon);
        b.AppendLine("akka.remote.log-remote-lifecycle-events = off");
        b.AppendLine($"akka.remote.retry-gate-closed-for = {Millis(s.JoinRetry)}");
        RenderTransport(b, s);
        RenderCluster(b, s);
        return b.ToString();
    }

    private static void RenderTransport(StringBuilder b, ClusterSettings s)
    {
        b.AppendLine("akka.remote.dot-netty.tcp {");
        b.AppendLine($"  hostname = {Quote(s.Hostname)}");
        b.AppendLine($"  port = {s.Port.ToString(CultureInfo.InvariantCulture)}");
        b.AppendLine($"  public-hostname = {Quote(s.PublicHostname ?? s.Hostname)}");
        b.AppendLine($"  maximum-frame-size = {s.MaximumFrameSize.ToString(CultureInfo.InvariantCulture)}b");
        b.AppendLine($"  enable-ssl = {OnOff(s.Tls is not null)}");
        if (s.Tls is { } tls)
        {
            b.AppendLine("  ssl {");
            b.AppendLine($"    certificate {{ path = {Quote(Path.GetFullPath(tls.CertificatePath))}, password = {Quote(tls.Password ?? "")} }}");
            b.AppendLine("    suppress-validation = off");
            b.AppendLine("    require-mutual-authentication = on");
            b.AppendLine($"    validate-certificate-hostname = {OnOff(tls.ValidateCertificateHostname)}");
            b.AppendLine("  }");
        }
        b.AppendLine("}");
    }

    private static void RenderCluster(StringBuilder b, ClusterSettings s)
    {
        var sbr = s.SplitBrain;
        b.AppendLine("akka.cluster {");
        b.AppendLine($"  seed-nodes = [{string.Join(", ", s.SeedNodes.Select(Quote))}]");
        b.AppendLine($"  seed-node-timeout = {Millis(s.JoinRetry)}");
        b.AppendLine($"  roles = [{string.Join(", ", s.Roles.Select(Quote))}]");
        b.AppendLine($"  failure-detector.heartbeat-interval = {Millis(s.HeartbeatInterval)}");
        b.AppendLine($"  failure-detector.acceptable-heartbeat-pause = {Millis(s.AcceptableHeartbeatPause)}");
        b.AppendLine("  downing-provider-class = \"Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster\"");
        b.AppendLine("  split-brain-resolver {");
        b.AppendLine($"    active-strategy = {sbr.Strategy}");
        b.AppendLine($"    stable-after = {Millis(s.StableAfter)}");
        b.AppendLine($"    keep-oldest.down-if-alone = {OnOff(sbr.DownIfAlone)}");
        if (sbr.Strategy != SplitBrainSettings.DownAll)
            b.AppendLine($"    {sbr.Strategy}.role = {Quote(sbr.Role ?? "")}");
        b.AppendLine("  }");
        b.AppendLine("}");
    }

    /// <summary>A HOCON quoted string (backslashes, quotes and control characters escaped).</summary>
    internal static string Quote(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (char c in s)
        {
            if (c is '"' or '\\') b.Append('\\').Append(c);
            else if (char.IsControl(c)) b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else b.Append(c);
        }
        return b.Append('"').ToString();
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    private static string Millis(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
}
