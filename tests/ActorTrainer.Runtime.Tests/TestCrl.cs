using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Certificate revocation lists for the TLS tests, made with .NET's CertificateRevocationListBuilder.</summary>
internal static class TestCrl
{
    private static int _number;

    /// <summary>Writes a CRL signed by <paramref name="ca"/> (which holds its key) revoking the certificates in the PFX files
    /// <paramref name="revokedPfx"/> (opened with <paramref name="password"/>) to <paramref name="path"/>, PEM or DER;
    /// nextUpdate = now + <paramref name="validFor"/> (negative: an expired list). Returns the path.</summary>
    public static string Write(string path, X509Certificate2 ca, string password, IEnumerable<string> revokedPfx, bool pem = true,
                               TimeSpan? validFor = null)
    {
        var certs = revokedPfx.Select(pfx => X509CertificateLoader.LoadPkcs12FromFile(pfx, password)).ToList();
        try { return Write(path, ca, certs, pem, validFor); }
        finally { certs.ForEach(c => c.Dispose()); }
    }

    /// <summary>The same for certificates at hand.</summary>
    public static string Write(string path, X509Certificate2 ca, IEnumerable<X509Certificate2> revoked, bool pem = true, TimeSpan? validFor = null)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var cert in revoked) builder.AddEntry(cert, DateTimeOffset.UtcNow.AddMinutes(-1), X509RevocationReason.KeyCompromise);
        var next = DateTimeOffset.UtcNow + (validFor ?? TimeSpan.FromDays(7));
        var der = builder.Build(ca, new BigInteger(Interlocked.Increment(ref _number)), next, HashAlgorithmName.SHA256,
                                ca.GetRSAPublicKey() is null ? null : RSASignaturePadding.Pkcs1, thisUpdate: next - TimeSpan.FromDays(8));
        if (pem) File.WriteAllText(path, PemEncoding.WriteString("X509 CRL", der));
        else File.WriteAllBytes(path, der);
        return path;
    }
}
