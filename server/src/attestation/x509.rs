//! Just enough DER and X.509 for attestation chains: a strict TLV reader, the certificate fields
//! a chain check needs, signatures with `ring`, and the walk from a leaf to a configured root.
//!
//! Written here rather than pulled in (x509-parser brings a dozen crates): only definite
//! lengths, at most 4 length bytes, nothing trailing; anything else is refused as malformed.

use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use super::{fail, Check};

/// DER content octets of the object identifiers used here.
pub(crate) mod oid {
    pub const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    pub const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
    pub const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    pub const RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
    pub const RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
    pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
}

/// Universal tag numbers.
pub(crate) const BOOLEAN: u32 = 1;
pub(crate) const INTEGER: u32 = 2;
pub(crate) const BIT_STRING: u32 = 3;
pub(crate) const OCTET_STRING: u32 = 4;
pub(crate) const NULL: u32 = 5;
pub(crate) const OID: u32 = 6;
pub(crate) const ENUMERATED: u32 = 10;
pub(crate) const SEQUENCE: u32 = 16;
pub(crate) const SET: u32 = 17;

/// Tag classes.
pub(crate) const UNIVERSAL: u8 = 0;
pub(crate) const CONTEXT: u8 = 2;

/// One DER element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub class: u8,
    pub constructed: bool,
    pub number: u32,
    pub value: &'a [u8],
    /// Tag, length and value: what a signature covers.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    pub fn is(&self, class: u8, number: u32) -> bool {
        self.class == class && self.number == number
    }

    /// The elements inside a constructed element.
    pub fn children(&self) -> Der<'a> {
        Der(self.value)
    }

    /// The element must be the universal `number` (constructed for SEQUENCE and SET).
    pub fn expect(self, number: u32, what: &str) -> Check<Tlv<'a>> {
        let constructed = matches!(number, SEQUENCE | SET);
        if self.class == UNIVERSAL && self.number == number && self.constructed == constructed {
            Ok(self)
        } else {
            Err(fail(format!("{what} is malformed")))
        }
    }

    /// A non-negative INTEGER or ENUMERATED that fits 64 bits.
    pub fn unsigned(&self, what: &str) -> Check<u64> {
        let bad = || fail(format!("{what} is not a small non-negative integer"));
        if self.class != UNIVERSAL || !matches!(self.number, INTEGER | ENUMERATED) {
            return Err(bad());
        }
        let bytes = self.value;
        if bytes.is_empty() || bytes[0] & 0x80 != 0 {
            return Err(bad());
        }
        let bytes = if bytes.len() > 1 && bytes[0] == 0 {
            &bytes[1..]
        } else {
            bytes
        };
        if bytes.len() > 8 {
            return Err(bad());
        }
        Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }
}

/// A sequence of DER elements.
pub(crate) struct Der<'a>(pub &'a [u8]);

impl<'a> Der<'a> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn next(&mut self, what: &str) -> Check<Tlv<'a>> {
        read_tlv(self.0)
            .map(|(tlv, rest)| {
                self.0 = rest;
                tlv
            })
            .ok_or_else(|| fail(format!("{what} is malformed")))
    }

    /// The next element, which must be the universal `number`.
    pub fn expect(&mut self, number: u32, what: &str) -> Check<Tlv<'a>> {
        self.next(what)?.expect(number, what)
    }

    /// Nothing may follow.
    pub fn end(&self, what: &str) -> Check<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(fail(format!("{what} has trailing data")))
        }
    }
}

fn read_tlv(bytes: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let first = *bytes.first()?;
    let mut at = 1;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        loop {
            let byte = *bytes.get(at)?;
            at += 1;
            if number > (u32::MAX >> 7) {
                return None;
            }
            number = (number << 7) | u32::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    let first_len = *bytes.get(at)?;
    at += 1;
    let len = if first_len < 0x80 {
        usize::from(first_len)
    } else {
        let count = usize::from(first_len & 0x7f);
        // 0x80 is BER's indefinite length: not DER.
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..count {
            len = (len << 8) | usize::from(*bytes.get(at)?);
            at += 1;
        }
        len
    };
    let end = at.checked_add(len).filter(|end| *end <= bytes.len())?;
    let tlv = Tlv {
        class: first >> 6,
        constructed: first & 0x20 != 0,
        number,
        value: &bytes[at..end],
        raw: &bytes[..end],
    };
    Some((tlv, &bytes[end..]))
}

/// The fields of an X.509 certificate that attestation checks read.
#[derive(Debug, Clone)]
pub(crate) struct Certificate<'a> {
    /// tbsCertificate (tag, length, value): what the issuer signed.
    pub tbs: &'a [u8],
    pub signature_algorithm: &'a [u8],
    pub signature: &'a [u8],
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    /// SubjectPublicKeyInfo (DER).
    pub spki: &'a [u8],
    /// (extnID, critical, extnValue contents)
    pub extensions: Vec<(&'a [u8], bool, &'a [u8])>,
}

impl<'a> Certificate<'a> {
    pub fn parse(der: &'a [u8], what: &str) -> Check<Certificate<'a>> {
        let mut outer = Der(der);
        let certificate = outer.expect(SEQUENCE, what)?;
        outer.end(what)?;
        let mut fields = certificate.children();
        let tbs = fields.expect(SEQUENCE, what)?;
        let signature_algorithm = algorithm(fields.expect(SEQUENCE, what)?, what)?;
        let signature = bit_string(fields.expect(BIT_STRING, what)?, what)?;
        fields.end(what)?;

        let mut tbs_fields = tbs.children();
        let mut next = tbs_fields.next(what)?;
        if next.is(CONTEXT, 0) {
            next = tbs_fields.next(what)?; // version
        }
        next.expect(INTEGER, what)?; // serialNumber
        let inner_algorithm = algorithm(tbs_fields.expect(SEQUENCE, what)?, what)?;
        if inner_algorithm != signature_algorithm {
            return Err(fail(format!("{what} names two signature algorithms")));
        }
        let issuer = tbs_fields.expect(SEQUENCE, what)?.raw;
        tbs_fields.expect(SEQUENCE, what)?; // validity
        let subject = tbs_fields.expect(SEQUENCE, what)?.raw;
        let spki = tbs_fields.expect(SEQUENCE, what)?.raw;
        let mut extensions = Vec::new();
        while !tbs_fields.is_empty() {
            let field = tbs_fields.next(what)?;
            if !field.is(CONTEXT, 3) {
                continue; // issuerUniqueID, subjectUniqueID
            }
            let mut list = field.children();
            let list = list.expect(SEQUENCE, what)?;
            let mut items = list.children();
            while !items.is_empty() {
                let mut extension = items.expect(SEQUENCE, what)?.children();
                let id = extension.expect(OID, what)?.value;
                let mut value = extension.next(what)?;
                let mut critical = false;
                if value.is(UNIVERSAL, BOOLEAN) {
                    critical = value.value.first().is_some_and(|b| *b != 0);
                    value = extension.next(what)?;
                }
                let value = value.expect(OCTET_STRING, what)?.value;
                extension.end(what)?;
                extensions.push((id, critical, value));
            }
        }
        Ok(Certificate {
            tbs: tbs.raw,
            signature_algorithm,
            signature,
            issuer,
            subject,
            spki,
            extensions,
        })
    }

    pub fn extension(&self, id: &[u8]) -> Option<&'a [u8]> {
        self.extensions
            .iter()
            .find(|(oid, _, _)| *oid == id)
            .map(|(_, _, value)| *value)
    }

    /// basicConstraints says `cA: TRUE`.
    pub fn is_ca(&self) -> bool {
        let Some(value) = self.extension(oid::BASIC_CONSTRAINTS) else {
            return false;
        };
        let mut outer = Der(value);
        let Ok(constraints) = outer.expect(SEQUENCE, "basicConstraints") else {
            return false;
        };
        let mut items = constraints.children();
        items
            .next("basicConstraints")
            .is_ok_and(|first| first.is(UNIVERSAL, BOOLEAN) && first.value == [0xff])
    }

    /// Whether `issuer_spki` made this certificate's signature.
    pub fn signed_by(&self, issuer_spki: &[u8]) -> bool {
        let Ok(key) = PublicKey::parse(issuer_spki) else {
            return false;
        };
        let algorithm: &'static dyn VerificationAlgorithm =
            match (self.signature_algorithm, key.curve) {
                (oid::ECDSA_SHA256, Some(Curve::P256)) => &signature::ECDSA_P256_SHA256_ASN1,
                (oid::ECDSA_SHA256, Some(Curve::P384)) => &signature::ECDSA_P384_SHA256_ASN1,
                (oid::ECDSA_SHA384, Some(Curve::P256)) => &signature::ECDSA_P256_SHA384_ASN1,
                (oid::ECDSA_SHA384, Some(Curve::P384)) => &signature::ECDSA_P384_SHA384_ASN1,
                (oid::RSA_SHA256, None) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (oid::RSA_SHA384, None) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (oid::RSA_SHA512, None) => &signature::RSA_PKCS1_2048_8192_SHA512,
                _ => return false,
            };
        UnparsedPublicKey::new(algorithm, key.bits)
            .verify(self.tbs, self.signature)
            .is_ok()
    }
}

fn algorithm<'a>(identifier: Tlv<'a>, what: &str) -> Check<&'a [u8]> {
    let mut items = identifier.children();
    Ok(items.expect(OID, what)?.value)
}

/// The contents of a BIT STRING with no unused bits.
pub(crate) fn bit_string<'a>(tlv: Tlv<'a>, what: &str) -> Check<&'a [u8]> {
    match tlv.value.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err(fail(format!("{what} is malformed"))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// A SubjectPublicKeyInfo: an EC point on a named curve (`curve`), or an RSA key (`None`).
pub(crate) struct PublicKey<'a> {
    pub curve: Option<Curve>,
    /// The uncompressed point, or the RSAPublicKey DER.
    pub bits: &'a [u8],
}

impl<'a> PublicKey<'a> {
    pub fn parse(spki: &'a [u8]) -> Check<PublicKey<'a>> {
        let what = "a public key";
        let mut outer = Der(spki);
        let info = outer.expect(SEQUENCE, what)?;
        outer.end(what)?;
        let mut items = info.children();
        let mut algorithm = items.expect(SEQUENCE, what)?.children();
        let kind = algorithm.expect(OID, what)?.value;
        let curve = match kind {
            oid::EC_PUBLIC_KEY => match algorithm.expect(OID, what)?.value {
                oid::P256 => Some(Curve::P256),
                oid::P384 => Some(Curve::P384),
                _ => return Err(fail("a certificate key is on an unsupported curve")),
            },
            oid::RSA => None,
            _ => return Err(fail("a certificate key has an unsupported algorithm")),
        };
        let bits = bit_string(items.expect(BIT_STRING, what)?, what)?;
        Ok(PublicKey { curve, bits })
    }
}

/// A configured trust anchor.
#[derive(Debug, Clone)]
pub(crate) struct Root {
    pub subject: Vec<u8>,
    pub spki: Vec<u8>,
}

impl Root {
    pub fn from_der(der: Vec<u8>) -> Check<Root> {
        let certificate = Certificate::parse(&der, "a root certificate")?;
        Ok(Root {
            subject: certificate.subject.to_vec(),
            spki: certificate.spki.to_vec(),
        })
    }
}

/// Longest chain accepted (Android chains have 3 to 5 certificates, Apple's 2).
pub(crate) const MAX_CHAIN: usize = 8;

/// Checks that `chain` (leaf first) leads to one of `roots`: each certificate is named and
/// signed by the next one, which must be a CA; the last one is a root (its public key is a
/// root's: roots are re-issued with the same key) or is signed by one.
pub(crate) fn verify_chain(chain: &[Certificate<'_>], roots: &[Root]) -> Check<()> {
    if chain.is_empty() || chain.len() > MAX_CHAIN {
        return Err(fail(format!(
            "the certificate chain must have 1 to {MAX_CHAIN} certificates"
        )));
    }
    if roots.is_empty() {
        return Err(fail("no trusted root is configured for this format"));
    }
    for (i, pair) in chain.windows(2).enumerate() {
        let (child, parent) = (&pair[0], &pair[1]);
        if child.issuer != parent.subject {
            return Err(fail(format!(
                "certificate {i} is not issued by certificate {}",
                i + 1
            )));
        }
        if !parent.is_ca() {
            return Err(fail(format!(
                "certificate {} signs another but is not a CA",
                i + 1
            )));
        }
        if !child.signed_by(parent.spki) {
            return Err(fail(format!(
                "the signature of certificate {i} does not verify with certificate {}'s key",
                i + 1
            )));
        }
    }
    let last = chain.last().expect("not empty");
    let trusted = roots.iter().any(|root| {
        last.spki == root.spki.as_slice()
            || (last.issuer == root.subject.as_slice() && last.signed_by(&root.spki))
    });
    if trusted {
        Ok(())
    } else {
        Err(fail(
            "the certificate chain does not lead to a trusted root",
        ))
    }
}

/// The certificates of a PEM text (`-----BEGIN CERTIFICATE-----` blocks), as DER.
pub(crate) fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (&mut body, line) {
            (None, "-----BEGIN CERTIFICATE-----") => body = Some(String::new()),
            (Some(b64), "-----END CERTIFICATE-----") => {
                let der = data_encoding::BASE64
                    .decode(b64.as_bytes())
                    .map_err(|_| "a certificate is not valid base64".to_owned())?;
                out.push(der);
                body = None;
            }
            (Some(b64), line) => b64.push_str(line),
            (None, _) => {}
        }
    }
    if body.is_some() {
        return Err("a certificate has no END line".into());
    }
    Ok(out)
}
