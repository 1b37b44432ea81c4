//! Apple App Attest: `DCAppAttestService.attestKey` answers a CBOR attestation object (WebAuthn
//! style, `fmt` "apple-appattest") whose certificate chain leads to the Apple App Attestation
//! Root CA, whose leaf carries a nonce binding the authenticator data to our `clientDataHash`,
//! and whose authenticator data names the app (rpIdHash), a fresh key (counter 0) and the
//! environment (aaguid). Steps as in Apple's "Validating apps that connect to your server".

use ring::digest::{digest, SHA256};

use super::x509::{self, Certificate, Curve, Der, PublicKey, Root, CONTEXT};
use super::{constant_time_eq, fail, Check};

/// 1.2.840.113635.100.8.2: the nonce extension of the credential certificate.
pub const NONCE_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x08, 0x02];
pub const FORMAT: &str = "apple-appattest";
pub const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";
pub const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";

/// What the server trusts for App Attest.
pub struct AppleTrust<'a> {
    pub roots: &'a [Root],
    /// `TEAMID.bundle.id`
    pub app_ids: &'a [String],
    /// Accept the development environment's aaguid instead of production's.
    pub development: bool,
}

/// The parts of the attestation object that are checked.
struct AttestationObject<'a> {
    fmt: &'a str,
    x5c: Vec<&'a [u8]>,
    auth_data: &'a [u8],
}

fn parse_object(object: &[u8]) -> Check<AttestationObject<'_>> {
    let malformed = |_| fail("the attestation object is not the CBOR App Attest answers");
    let mut d = minicbor::Decoder::new(object);
    let mut fmt = None;
    let mut x5c = None;
    let mut auth_data = None;
    let entries = d
        .map()
        .map_err(malformed)?
        .ok_or_else(|| fail("the attestation object uses indefinite lengths"))?;
    for _ in 0..entries {
        match d.str().map_err(malformed)? {
            "fmt" => fmt = Some(d.str().map_err(malformed)?),
            "authData" => auth_data = Some(d.bytes().map_err(malformed)?),
            "attStmt" => {
                let fields = d
                    .map()
                    .map_err(malformed)?
                    .ok_or_else(|| fail("attStmt uses indefinite lengths"))?;
                for _ in 0..fields {
                    if d.str().map_err(malformed)? == "x5c" {
                        let count = d
                            .array()
                            .map_err(malformed)?
                            .filter(|n| *n as usize <= x509::MAX_CHAIN)
                            .ok_or_else(|| fail("attStmt.x5c has too many certificates"))?;
                        let mut certificates = Vec::new();
                        for _ in 0..count {
                            certificates.push(d.bytes().map_err(malformed)?);
                        }
                        x5c = Some(certificates);
                    } else {
                        d.skip().map_err(malformed)?; // receipt
                    }
                }
            }
            _ => d.skip().map_err(malformed)?,
        }
    }
    if d.position() != object.len() {
        return Err(fail("the attestation object has trailing data"));
    }
    Ok(AttestationObject {
        fmt: fmt.ok_or_else(|| fail("the attestation object has no fmt"))?,
        x5c: x5c.ok_or_else(|| fail("the attestation object has no attStmt.x5c"))?,
        auth_data: auth_data.ok_or_else(|| fail("the attestation object has no authData"))?,
    })
}

/// Checks an App Attest attestation `object` of the App Attest key `key_id` (SHA-256 of its
/// public key), made with `clientDataHash` = SHA-256(`challenge` ‖ `device_spki`).
pub fn verify(
    object: &[u8],
    key_id: &[u8],
    trust: &AppleTrust<'_>,
    challenge: &[u8],
    device_spki: &[u8],
) -> Check<()> {
    let attestation = parse_object(object)?;
    if attestation.fmt != FORMAT {
        return Err(fail(format!("fmt must be {FORMAT}")));
    }
    let chain = attestation
        .x5c
        .iter()
        .enumerate()
        .map(|(i, der)| Certificate::parse(der, &format!("attStmt.x5c[{i}]")))
        .collect::<Check<Vec<_>>>()?;
    x509::verify_chain(&chain, trust.roots)?;
    let leaf = &chain[0];

    let client_data_hash =
        authcore::device_protocol::app_attest_client_data_hash(challenge, device_spki);
    let mut signed = attestation.auth_data.to_vec();
    signed.extend_from_slice(&client_data_hash);
    let nonce = digest(&SHA256, &signed);
    let extension = leaf
        .extension(NONCE_OID)
        .ok_or_else(|| fail("the credential certificate has no nonce extension"))?;
    if !constant_time_eq(certificate_nonce(extension)?, nonce.as_ref()) {
        return Err(fail(
            "the nonce is not SHA-256(authData ‖ clientDataHash) for this activation code and key",
        ));
    }

    let key = PublicKey::parse(leaf.spki)?;
    if key.curve != Some(Curve::P256) || key.bits.len() != 65 {
        return Err(fail(
            "the credential certificate's key is not a P-256 point",
        ));
    }
    let key_hash = digest(&SHA256, key.bits);
    if key_hash.as_ref() != key_id {
        return Err(fail("key_id is not the SHA-256 of the attested key"));
    }

    let data = attestation.auth_data;
    if data.len() < 55 {
        return Err(fail("authData is too short"));
    }
    let app_matches = trust
        .app_ids
        .iter()
        .any(|id| digest(&SHA256, id.as_bytes()).as_ref() == &data[..32]);
    if !app_matches {
        return Err(fail("rpIdHash is not the SHA-256 of a configured app id"));
    }
    let counter = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
    if counter != 0 {
        return Err(fail(format!("the counter is {counter}; a new key's is 0")));
    }
    let expected: &[u8] = if trust.development {
        AAGUID_DEVELOPMENT
    } else {
        AAGUID_PRODUCTION
    };
    if &data[37..53] != expected {
        return Err(fail(if trust.development {
            "the aaguid is not appattestdevelop"
        } else {
            "the aaguid is not appattest (production)"
        }));
    }
    let id_len = usize::from(u16::from_be_bytes([data[53], data[54]]));
    let credential_id = data
        .get(55..55 + id_len)
        .ok_or_else(|| fail("authData is too short for its credential id"))?;
    if credential_id != key_id {
        return Err(fail("the credential id is not key_id"));
    }
    Ok(())
}

/// The nonce inside the extension: `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
fn certificate_nonce(extension: &[u8]) -> Check<&[u8]> {
    let what = "the nonce extension";
    let mut outer = Der(extension);
    let sequence = outer.expect(x509::SEQUENCE, what)?;
    let mut items = sequence.children();
    let tagged = items.next(what)?;
    if !tagged.is(CONTEXT, 1) {
        return Err(fail(format!("{what} is malformed")));
    }
    let mut inner = tagged.children();
    Ok(inner.expect(x509::OCTET_STRING, what)?.value)
}
