//! The wire format an authenticator device and the server share (docs/protocol.md, "Authenticator
//! devices"): the `authcore://enroll` link in the enrollment QR code, activation codes as a person
//! types them, the canonical messages a device signs, and the check of those signatures.
//!
//! Everything here is plain functions over bytes and strings: the server verifies with them and
//! the core's authenticator signs with them, so both sides build the same bytes.
//!
//! Signatures are ECDSA P-256 SHA-256 in ASN.1 DER (X9.62) over the canonical message, made with
//! the key whose SubjectPublicKeyInfo the device registered (see [`p256_spki`]).

use std::fmt;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Header naming the registered device (`dv_…`); absent on `POST /v1/devices/activate`.
pub const HEADER_DEVICE_ID: &str = "authcore-device-id";
/// Header with the request time, unix seconds.
pub const HEADER_TIMESTAMP: &str = "authcore-timestamp";
/// Header with a fresh random value, never reused by a device.
pub const HEADER_NONCE: &str = "authcore-nonce";
/// Header with base64url (no padding) of the DER signature over [`request_message`].
pub const HEADER_SIGNATURE: &str = "authcore-signature";
/// Header with the device protocol version the app speaks (a decimal number, [`PROTOCOL_VERSION`]
/// for this one), on every signed request. A request without it comes from an app older than
/// number matching (version 1).
pub const HEADER_PROTOCOL_VERSION: &str = "authcore-protocol-version";
/// The device protocol version of this crate: 2, number matching (`enter` and `choose`).
pub const PROTOCOL_VERSION: u32 = 2;
/// The oldest version that can show a number-matching request. Version 1 (apps that sent no
/// version) approved or denied without a number: the server never sends them a request.
pub const NUMBER_MATCHING_VERSION: u32 = 2;

/// The version a request's [`HEADER_PROTOCOL_VERSION`] value says: 1 when absent or not a number.
pub fn protocol_version(header: Option<&str>) -> u32 {
    header
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|v| *v >= 1)
        .unwrap_or(1)
}

/// How far a request's timestamp may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW_S: u64 = 300;
/// Nonces are 16 to 64 characters of `A-Z a-z 0-9 - _`.
pub const NONCE_MIN_LEN: usize = 16;
pub const NONCE_MAX_LEN: usize = 64;

/// First line of the canonical request message.
pub const REQUEST_MESSAGE_TAG: &str = "AUTHCORE-DEVICE-REQUEST-V1";
/// First line of the canonical decision message.
pub const DECISION_MESSAGE_TAG: &str = "AUTHCORE-PUSH-DECISION-V1";

/// Characters in an activation code (Crockford base32, 5 bits each: 60 bits).
pub const ACTIVATION_CODE_LEN: usize = 12;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why a message could not be built from its parts (a part would make it ambiguous).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the HTTP method must be upper-case letters")]
    Method,
    #[error("the request path must start with `/` and contain no spaces or control characters")]
    Path,
    #[error("the nonce must be 16 to 64 characters of A-Z a-z 0-9 - _")]
    Nonce,
    #[error("the device id must be 1 to 64 characters of A-Z a-z 0-9 - _")]
    DeviceId,
    #[error("the request id must be 1 to 64 characters of A-Z a-z 0-9 - _")]
    RequestId,
    #[error("the number must be 2 to 8 digits (empty unless approving)")]
    Number,
}

/// Why a signature was not accepted. Deliberately says nothing more precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the public key is not a P-256 SubjectPublicKeyInfo")]
    BadPublicKey,
    #[error("the signature does not verify")]
    Invalid,
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn is_token(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.chars().all(is_token_char)
}

/// A nonce a device may send: 16 to 64 characters of `A-Z a-z 0-9 - _`.
pub fn valid_nonce(nonce: &str) -> bool {
    is_token(nonce, NONCE_MIN_LEN, NONCE_MAX_LEN)
}

/// A device id or request id as it may appear in a canonical message.
pub fn valid_id(id: &str) -> bool {
    is_token(id, 1, 64)
}

/// A fresh nonce: 128 random bits in base64url (22 characters).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    // SystemRandom only fails when the OS has no randomness at all.
    let _ = SystemRandom::new().fill(&mut bytes);
    data_encoding::BASE64URL_NOPAD.encode(&bytes)
}

/// base64url (no padding) of SHA-256 of the body (of an empty body for GET and DELETE).
pub fn body_hash(body: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD
        .encode(ring::digest::digest(&ring::digest::SHA256, body).as_ref())
}

/// The parts of a signed device request.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The request target exactly as sent: path plus `?query` when there is one.
    pub path_and_query: &'a str,
    pub body: &'a [u8],
    pub timestamp: u64,
    pub nonce: &'a str,
    /// Empty for `POST /v1/devices/activate` (the device has no id yet).
    pub device_id: &'a str,
}

/// The canonical request message, seven lines joined by `\n` (no trailing newline):
///
/// ```text
/// AUTHCORE-DEVICE-REQUEST-V1
/// GET
/// /v1/devices/challenges?wait=30
/// 47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU
/// 1767225600
/// q3JzV0l5c2VfTm9uY2UxMjM0
/// dv_Zm9vYmFyYmF6cXV4cXV1eA
/// ```
pub fn request_message(parts: &RequestParts<'_>) -> Result<Vec<u8>, MessageError> {
    if parts.method.is_empty() || !parts.method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(MessageError::Method);
    }
    if !parts.path_and_query.starts_with('/')
        || parts
            .path_and_query
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(MessageError::Path);
    }
    if !valid_nonce(parts.nonce) {
        return Err(MessageError::Nonce);
    }
    if !parts.device_id.is_empty() && !valid_id(parts.device_id) {
        return Err(MessageError::DeviceId);
    }
    Ok(format!(
        "{REQUEST_MESSAGE_TAG}\n{}\n{}\n{}\n{}\n{}\n{}",
        parts.method,
        parts.path_and_query,
        body_hash(parts.body),
        parts.timestamp,
        parts.nonce,
        parts.device_id
    )
    .into_bytes())
}

/// What the user decided about a push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
    ReportFraud,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
            Decision::ReportFraud => "report_fraud",
        }
    }

    pub fn parse(value: &str) -> Option<Decision> {
        match value {
            "approve" => Some(Decision::Approve),
            "deny" => Some(Decision::Deny),
            "report_fraud" => Some(Decision::ReportFraud),
            _ => None,
        }
    }
}

/// The canonical decision message, six lines joined by `\n` (no trailing newline); `number` is
/// the number the user entered or chose when approving, and empty for `deny` / `report_fraud`:
///
/// ```text
/// AUTHCORE-PUSH-DECISION-V1
/// 42
/// approve
/// 22
/// 1767225600
/// dv_Zm9vYmFyYmF6cXV4cXV1eA
/// ```
pub fn decision_message(
    request_id: &str,
    decision: Decision,
    number: &str,
    timestamp: u64,
    device_id: &str,
) -> Result<Vec<u8>, MessageError> {
    if !valid_id(request_id) {
        return Err(MessageError::RequestId);
    }
    if !valid_id(device_id) {
        return Err(MessageError::DeviceId);
    }
    let number_ok = match decision {
        Decision::Approve => {
            (2..=8).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit())
        }
        Decision::Deny | Decision::ReportFraud => number.is_empty(),
    };
    if !number_ok {
        return Err(MessageError::Number);
    }
    Ok(format!(
        "{DECISION_MESSAGE_TAG}\n{request_id}\n{}\n{number}\n{timestamp}\n{device_id}",
        decision.as_str()
    )
    .into_bytes())
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1, 65-byte point).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Wraps an uncompressed P-256 point (65 bytes) as a SubjectPublicKeyInfo.
pub fn p256_spki(point: &[u8]) -> Vec<u8> {
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(point);
    spki
}

/// The uncompressed point inside a P-256 SubjectPublicKeyInfo, if it is one.
pub fn p256_point(spki: &[u8]) -> Option<&[u8]> {
    spki.strip_prefix(&P256_SPKI_PREFIX[..])
        .filter(|point| point.len() == 65 && point[0] == 0x04)
}

/// Checks an ECDSA P-256 SHA-256 signature in ASN.1 DER over `message` with the key in `spki`
/// (a P-256 SubjectPublicKeyInfo, DER).
pub fn verify_p256(
    spki: &[u8],
    message: &[u8],
    signature_der: &[u8],
) -> Result<(), SignatureError> {
    let point = p256_point(spki).ok_or(SignatureError::BadPublicKey)?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(message, signature_der)
        .map_err(|_| SignatureError::Invalid)
}

/// The domain tag of [`attestation_challenge`].
pub const ATTESTATION_CHALLENGE_TAG: &str = "authcore-attestation-v1\n";

/// The challenge a platform attestation of a new device key must carry (docs/protocol.md
/// "Device attestation"): SHA-256(`"authcore-attestation-v1\n"` ‖ normalised activation code).
/// The code is secret and used once, so the challenge is too; the phone knows it from the QR
/// code before it generates the key.
pub fn attestation_challenge(code: &ActivationCode) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(ATTESTATION_CHALLENGE_TAG.as_bytes());
    context.update(code.expose().as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Apple App Attest's `clientDataHash` for a device key: SHA-256(challenge ‖ SPKI DER of the
/// device key), so the App Attest key vouches for the key being registered.
pub fn app_attest_client_data_hash(challenge: &[u8], device_spki: &[u8]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(challenge);
    context.update(device_spki);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Why an activation code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationCodeError {
    #[error("an activation code has {ACTIVATION_CODE_LEN} letters and digits")]
    Length,
    #[error("an activation code has only letters and digits (dashes and spaces are ignored)")]
    Character,
}

/// An activation code: 12 Crockford base32 characters (60 random bits). Typed in groups of four
/// (`7K3M-Q9XA-R2TD`); case, spaces and dashes do not matter, and `I`/`L` read as `1`, `O` as `0`.
/// Redacted in `Debug`, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(Zeroizing<String>);

impl ActivationCode {
    /// A new random code.
    pub fn generate() -> ActivationCode {
        let mut bytes = Zeroizing::new([0u8; ACTIVATION_CODE_LEN]);
        let _ = SystemRandom::new().fill(bytes.as_mut());
        let code: String = bytes
            .iter()
            .map(|b| char::from(CROCKFORD[usize::from(b & 31)]))
            .collect();
        ActivationCode(Zeroizing::new(code))
    }

    /// Reads a code as a person typed or a QR code carried it.
    pub fn parse(typed: &str) -> Result<ActivationCode, ActivationCodeError> {
        let mut code = Zeroizing::new(String::with_capacity(ACTIVATION_CODE_LEN));
        for c in typed.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
                return Err(ActivationCodeError::Character);
            }
            if code.len() == ACTIVATION_CODE_LEN {
                return Err(ActivationCodeError::Length);
            }
            code.push(c);
        }
        if code.len() != ACTIVATION_CODE_LEN {
            return Err(ActivationCodeError::Length);
        }
        Ok(ActivationCode(code))
    }

    /// The normalised code (12 upper-case characters, no separators): what is hashed and what
    /// the QR link carries.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For a person to read and type: `7K3M-Q9XA-R2TD`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(ACTIVATION_CODE_LEN + 2);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivationCode(<redacted>)")
    }
}

/// What an enrollment QR code carries:
/// `authcore://enroll?v=1&url=<server URL>&code=<activation code>[&label=<account label>]`.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrollLink {
    /// The server's base URL (`https://…`; `http://` only for loopback).
    pub server_url: String,
    pub activation_code: ActivationCode,
    /// What the authenticator lists the account as (`Globex: carol@globex.example`).
    pub label: Option<String>,
}

impl fmt::Debug for EnrollLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollLink")
            .field("server_url", &self.server_url)
            .field("activation_code", &self.activation_code)
            .field("label", &self.label)
            .finish()
    }
}

/// Why a scanned payload is not a usable enrollment link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollLinkError {
    #[error("this is not an authcore enrollment code (it must start with authcore://enroll?)")]
    NotAnEnrollLink,
    #[error("the enrollment code is missing its `{0}`")]
    Missing(&'static str),
    #[error("the enrollment code names `{0}` more than once")]
    Repeated(&'static str),
    #[error("the enrollment code is version {}, this app understands version 1", crate::echo(.0))]
    UnsupportedVersion(String),
    #[error("the server address must be https (http only for this computer)")]
    InsecureServerUrl,
    #[error("the server address is not a valid URL")]
    BadServerUrl,
    #[error("the activation code in the enrollment code is not valid: {0}")]
    BadActivationCode(ActivationCodeError),
}

/// Characters left alone in a query value: unreserved ones (RFC 3986).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const ENROLL_PREFIX: &str = "authcore://enroll?";

impl EnrollLink {
    /// The QR payload.
    pub fn to_uri(&self) -> String {
        let mut uri = format!(
            "{ENROLL_PREFIX}v=1&url={}&code={}",
            utf8_percent_encode(&self.server_url, QUERY_VALUE),
            self.activation_code.expose()
        );
        if let Some(label) = &self.label {
            uri.push_str("&label=");
            uri.extend(utf8_percent_encode(label, QUERY_VALUE));
        }
        uri
    }

    /// Reads a scanned QR payload. Unknown parameters are ignored (later versions may add some).
    pub fn parse(payload: &str) -> Result<EnrollLink, EnrollLinkError> {
        let payload = payload.trim();
        let query = payload
            .get(..ENROLL_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(ENROLL_PREFIX))
            .map(|_| &payload[ENROLL_PREFIX.len()..])
            .ok_or(EnrollLinkError::NotAnEnrollLink)?;
        let mut version = None;
        let mut url = None;
        let mut code: Option<Zeroizing<String>> = None;
        let mut label = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| EnrollLinkError::BadServerUrl)?
                .into_owned();
            let (slot, name): (&mut Option<String>, &'static str) = match name {
                "v" => (&mut version, "v"),
                "url" => (&mut url, "url"),
                "label" => (&mut label, "label"),
                "code" => {
                    if code.is_some() {
                        return Err(EnrollLinkError::Repeated("code"));
                    }
                    code = Some(Zeroizing::new(value));
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(EnrollLinkError::Repeated(name));
            }
            *slot = Some(value);
        }
        match version.as_deref() {
            None => return Err(EnrollLinkError::Missing("v")),
            Some("1") => {}
            Some(other) => return Err(EnrollLinkError::UnsupportedVersion(other.to_owned())),
        }
        let server_url = url.ok_or(EnrollLinkError::Missing("url"))?;
        check_server_url(&server_url)?;
        let code = code.ok_or(EnrollLinkError::Missing("code"))?;
        let activation_code =
            ActivationCode::parse(&code).map_err(EnrollLinkError::BadActivationCode)?;
        Ok(EnrollLink {
            server_url: server_url.trim_end_matches('/').to_owned(),
            activation_code,
            label: label.filter(|l| !l.is_empty()),
        })
    }
}

/// `https://host[:port][/path]`, or `http://` to a loopback host.
pub fn check_server_url(url: &str) -> Result<(), EnrollLinkError> {
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(EnrollLinkError::BadServerUrl);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty()
        || authority.contains('@')
        || authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(EnrollLinkError::BadServerUrl);
    }
    if secure {
        return Ok(());
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(EnrollLinkError::InsecureServerUrl)
    }
}
