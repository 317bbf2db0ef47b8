using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>A certificate revocation list (X.509 CRL, RFC 5280; key <c>cluster.tls.revocation-list</c>) issued by the
/// cluster's CA: the serial numbers of the certificates the CA has revoked. Loaded only when it is the CA's — same
/// issuer name, signature verified with the CA's key (RSA PKCS#1 v1.5 or ECDSA, SHA-256/384/512) — and not past its
/// nextUpdate; every other file is refused with RevocationListException naming the file and the reason.</summary>
public sealed class RevocationList
{
    private readonly HashSet<string> _revoked;

    private RevocationList(HashSet<string> revoked, DateTimeOffset thisUpdate, DateTimeOffset? nextUpdate)
    {
        _revoked = revoked;
        ThisUpdate = thisUpdate;
        NextUpdate = nextUpdate;
    }

    /// <summary>When the CA issued this list.</summary>
    public DateTimeOffset ThisUpdate { get; }

    /// <summary>When the CA promised the next list (null: not stated).</summary>
    public DateTimeOffset? NextUpdate { get; }

    /// <summary>Number of revoked certificates listed.</summary>
    public int Count => _revoked.Count;

    /// <summary>True when the list names <paramref name="certificate"/>'s serial number and the certificate was issued by
    /// the list's CA (<paramref name="ca"/>).</summary>
    public bool Revokes(X509Certificate2 certificate, X509Certificate2 ca) =>
        certificate.IssuerName.RawData.AsSpan().SequenceEqual(ca.SubjectName.RawData)
        && _revoked.Contains(Serial(certificate.SerialNumberBytes.Span));

    /// <summary>Reads the CRL at <paramref name="path"/> (PEM "X509 CRL" or DER) and checks it against <paramref name="ca"/>
    /// at time <paramref name="now"/>.</summary>
    public static RevocationList Load(string path, X509Certificate2 ca, DateTimeOffset now) => Load(path, Read(path), ca, now);

    /// <summary>The bytes of the file at <paramref name="path"/>; ArgumentException naming it when it cannot be read.</summary>
    public static byte[] Read(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Refused(path, e.Message, e);
        }
    }

    /// <summary>The CRL in <paramref name="file"/> (the bytes of <paramref name="path"/>, PEM or DER), checked against
    /// <paramref name="ca"/> at time <paramref name="now"/>.</summary>
    public static RevocationList Load(string path, byte[] file, X509Certificate2 ca, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(ca);
        byte[] der;
        try { der = Der(file); }
        catch (FormatException e) { throw Refused(path, e.Message, e); }
        try { return Parse(der, ca, now); }
        catch (AsnContentException e) { throw Refused(path, "not a DER-encoded X.509 CRL (" + e.Message + ")", e); }
        catch (CryptographicException e) { throw Refused(path, e.Message, e); }
        catch (InvalidDataException e) { throw Refused(path, e.Message, e); }
    }

    private static RevocationListException Refused(string path, string why, Exception? inner = null) =>
        new($"certificate revocation list '{path}': {why}", inner);

    /// <summary>The DER bytes of a PEM ("-----BEGIN X509 CRL-----") or DER file.</summary>
    private static byte[] Der(byte[] file)
    {
        var text = System.Text.Encoding.ASCII.GetString(file);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal)) return file;
        var pem = PemEncoding.Find(text);
        if (!text.AsSpan()[pem.Label].SequenceEqual("X509 CRL"))
            throw new FormatException($"a PEM file whose first block is '{text[pem.Label]}', not 'X509 CRL'");
        return Convert.FromBase64String(text[pem.Base64Data]);
    }

    private static RevocationList Parse(byte[] der, X509Certificate2 ca, DateTimeOffset now)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var list = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var tbsBytes = list.ReadEncodedValue();
        var algorithm = new AsnReader(list.ReadEncodedValue(), AsnEncodingRules.DER).ReadSequence().ReadObjectIdentifier();
        var signature = list.ReadBitString(out _);
        list.ThrowIfNotEmpty();
        if (!Verify(ca, algorithm, tbsBytes.Span, signature))
            throw new InvalidDataException($"its signature does not verify with the key of the CA '{ca.Subject}' (a list from another CA, or altered)");

        var tbs = new AsnReader(tbsBytes, AsnEncodingRules.DER).ReadSequence();
        if (tbs.PeekTag() == Asn1Tag.Integer) tbs.ReadInteger();               // version (v2)
        tbs.ReadEncodedValue();                                                // signature algorithm (again)
        var issuer = tbs.ReadEncodedValue();
        if (!issuer.Span.SequenceEqual(ca.SubjectName.RawData))
            throw new InvalidDataException($"it was issued by '{new X500DistinguishedName(issuer.Span).Name}', not by the CA '{ca.Subject}'");
        var thisUpdate = ReadTime(tbs);
        DateTimeOffset? nextUpdate = tbs.HasData && IsTime(tbs.PeekTag()) ? ReadTime(tbs) : null;
        if (nextUpdate is { } next && next < now)
            throw new InvalidDataException($"it expired at {next:u} (its nextUpdate); have the CA issue a current list");
        var revoked = new HashSet<string>(StringComparer.Ordinal);
        if (tbs.HasData && tbs.PeekTag() == Asn1Tag.Sequence)
        {
            var entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                revoked.Add(Serial(entry.ReadIntegerBytes().Span));
            }
        }
        return new RevocationList(revoked, thisUpdate, nextUpdate);
    }

    private static bool IsTime(Asn1Tag tag) => tag.HasSameClassAndValue(Asn1Tag.UtcTime) || tag.HasSameClassAndValue(Asn1Tag.GeneralizedTime);

    private static DateTimeOffset ReadTime(AsnReader r) =>
        r.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? r.ReadUtcTime() : r.ReadGeneralizedTime();

    /// <summary>A serial number as upper-case hex without leading zero bytes (the key of the revoked set).</summary>
    private static string Serial(ReadOnlySpan<byte> bigEndian)
    {
        while (bigEndian.Length > 1 && bigEndian[0] == 0) bigEndian = bigEndian[1..];
        return Convert.ToHexString(bigEndian);
    }

    private static bool Verify(X509Certificate2 ca, string algorithm, ReadOnlySpan<byte> data, byte[] signature)
    {
        HashAlgorithmName hash = algorithm switch
        {
            "1.2.840.113549.1.1.11" or "1.2.840.10045.4.3.2" => HashAlgorithmName.SHA256,
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            _ => throw new InvalidDataException(
                $"its signature algorithm {algorithm} is not supported (RSA PKCS#1 v1.5 or ECDSA with SHA-256, SHA-384 or SHA-512)"),
        };
        if (algorithm.StartsWith("1.2.840.113549", StringComparison.Ordinal))
        {
            using var rsa = ca.GetRSAPublicKey() ?? throw new InvalidDataException($"it is RSA-signed but the CA '{ca.Subject}' has no RSA key");
            return rsa.VerifyData(data, signature, hash, RSASignaturePadding.Pkcs1);
        }
        using var ec = ca.GetECDsaPublicKey() ?? throw new InvalidDataException($"it is ECDSA-signed but the CA '{ca.Subject}' has no ECDSA key");
        return ec.VerifyData(data, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }
}

/// <summary>A certificate revocation list file that cannot be used (unreadable, not a CRL, not the CA's, expired); the
/// message names the file and why.</summary>
public sealed class RevocationListException(string message, Exception? inner = null) : ArgumentException(message, inner);
