//! Android Key Attestation: the Keystore certifies a key it generated with a chain to Google's
//! attestation roots, and the leaf carries the key's description (extension
//! 1.3.6.1.4.1.11129.2.1.17, `KeyDescription`): where the key lives, the challenge it was
//! generated with, and what using it requires.
//!
//! ```text
//! KeyDescription ::= SEQUENCE {
//!     attestationVersion INTEGER, attestationSecurityLevel SecurityLevel,
//!     keymasterVersion INTEGER, keymasterSecurityLevel SecurityLevel,
//!     attestationChallenge OCTET STRING, uniqueId OCTET STRING,
//!     softwareEnforced AuthorizationList, teeEnforced AuthorizationList }
//! SecurityLevel ::= ENUMERATED { Software (0), TrustedEnvironment (1), StrongBox (2) }
//! AuthorizationList ::= SEQUENCE { purpose [1] EXPLICIT SET OF INTEGER OPTIONAL, ...,
//!     noAuthRequired [503] EXPLICIT NULL OPTIONAL, userAuthType [504] EXPLICIT INTEGER OPTIONAL, ... }
//! ```

use super::x509::{self, Certificate, Der, Root, Tlv, CONTEXT};
use super::{fail, Check};

/// 1.3.6.1.4.1.11129.2.1.17
pub const KEY_DESCRIPTION_OID: &[u8] =
    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x11];

/// KeyPurpose SIGN.
const PURPOSE_SIGN: u64 = 2;
/// AuthorizationList tags.
const TAG_PURPOSE: u32 = 1;
const TAG_NO_AUTH_REQUIRED: u32 = 503;
const TAG_USER_AUTH_TYPE: u32 = 504;

/// What the key description says (the parts checked).
#[derive(Debug)]
struct KeyDescription<'a> {
    attestation_security_level: u64,
    keymaster_security_level: u64,
    challenge: &'a [u8],
    software: Authorizations,
    hardware: Authorizations,
}

#[derive(Debug, Default)]
struct Authorizations {
    purposes: Vec<u64>,
    no_auth_required: bool,
    user_auth_type: Option<u64>,
}

/// Checks an Android Key Attestation chain (leaf first, DER) for the device key `spki`.
pub fn verify(
    certificates: &[Vec<u8>],
    roots: &[Root],
    challenge: &[u8],
    spki: &[u8],
) -> Check<()> {
    let chain = certificates
        .iter()
        .enumerate()
        .map(|(i, der)| Certificate::parse(der, &format!("certificate {i}")))
        .collect::<Check<Vec<_>>>()?;
    x509::verify_chain(&chain, roots)?;
    let leaf = &chain[0];
    if leaf.spki != spki {
        return Err(fail(
            "the attested key (certificate 0) is not the public_key being registered",
        ));
    }
    // A key the Keystore attested could sign a made-up certificate below itself: only the
    // leaf may describe a key, and every certificate above it is a CA (checked in the walk).
    if chain[1..]
        .iter()
        .any(|c| c.extension(KEY_DESCRIPTION_OID).is_some())
    {
        return Err(fail("a key description appears above the leaf certificate"));
    }
    let value = leaf
        .extension(KEY_DESCRIPTION_OID)
        .ok_or_else(|| fail("the leaf certificate has no key description extension"))?;
    let description = parse(value)?;
    if !super::constant_time_eq(description.challenge, challenge) {
        return Err(fail(
            "the attestation challenge is not the one of this activation code",
        ));
    }
    for (name, level) in [
        (
            "attestationSecurityLevel",
            description.attestation_security_level,
        ),
        (
            "keymasterSecurityLevel",
            description.keymaster_security_level,
        ),
    ] {
        if !matches!(level, 1 | 2) {
            return Err(fail(format!(
                "{name} is {level}: the key is not in a TEE or StrongBox"
            )));
        }
    }
    let hardware = &description.hardware;
    if !hardware.purposes.contains(&PURPOSE_SIGN) {
        return Err(fail("the hardware does not enforce the SIGN purpose"));
    }
    if hardware.no_auth_required || description.software.no_auth_required {
        return Err(fail(
            "the key is usable without user authentication (noAuthRequired)",
        ));
    }
    if !hardware.user_auth_type.is_some_and(|t| t != 0) {
        return Err(fail(
            "the hardware does not enforce user authentication (no userAuthType)",
        ));
    }
    Ok(())
}

fn parse(value: &[u8]) -> Check<KeyDescription<'_>> {
    let what = "the key description";
    let mut outer = Der(value);
    let sequence = outer.expect(x509::SEQUENCE, what)?;
    outer.end(what)?;
    let mut fields = sequence.children();
    fields.next(what)?.unsigned("attestationVersion")?;
    let attestation_security_level = fields.next(what)?.unsigned("attestationSecurityLevel")?;
    fields.next(what)?.unsigned("keymasterVersion")?;
    let keymaster_security_level = fields.next(what)?.unsigned("keymasterSecurityLevel")?;
    let challenge = fields.expect(x509::OCTET_STRING, what)?.value;
    fields.expect(x509::OCTET_STRING, what)?; // uniqueId
    let software = authorizations(fields.expect(x509::SEQUENCE, what)?)?;
    let hardware = authorizations(fields.expect(x509::SEQUENCE, what)?)?;
    Ok(KeyDescription {
        attestation_security_level,
        keymaster_security_level,
        challenge,
        software,
        hardware,
    })
}

fn authorizations(list: Tlv<'_>) -> Check<Authorizations> {
    let what = "an authorization list";
    let mut out = Authorizations::default();
    let mut items = list.children();
    while !items.is_empty() {
        let item = items.next(what)?;
        if item.class != CONTEXT || !item.constructed {
            return Err(fail(format!("{what} is malformed")));
        }
        let mut inner = item.children();
        match item.number {
            TAG_PURPOSE => {
                let set = inner.expect(x509::SET, "purpose")?;
                let mut purposes = set.children();
                while !purposes.is_empty() {
                    out.purposes
                        .push(purposes.next("purpose")?.unsigned("purpose")?);
                }
            }
            TAG_NO_AUTH_REQUIRED => {
                inner.expect(x509::NULL, "noAuthRequired")?;
                out.no_auth_required = true;
            }
            TAG_USER_AUTH_TYPE => {
                out.user_auth_type = Some(inner.next("userAuthType")?.unsigned("userAuthType")?);
            }
            _ => continue,
        }
        inner.end(what)?;
    }
    Ok(out)
}
