//! Google Authenticator's export format: `otpauth-migration://offline?data=BASE64`, where the data
//! is a protobuf `MigrationPayload` (see the message definitions below). Large exports are split
//! into batches, one QR code each; a [`MigrationBatch`] says which one it is ("batch 2 of 3").
//!
//! The payload is read and written by [`wire`], a protobuf codec for these two messages only
//! (prost did the same in 4 KB more of the mobile library: docs/sizes-notes.md).
//! An unknown enum value or one we cannot compute (MD5) is an error naming the account and the
//! parameter, never a silent default.

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use zeroize::{Zeroize, Zeroizing};

mod wire;

use crate::echo;

use super::{
    label, secret_warnings, Algorithm, Digits, OtpAccount, OtpKind, OtpWarning, Parameter, Period,
    Secret,
};

const SCHEME: &str = "otpauth-migration://";

/// Google Authenticator shows at most 10 accounts per QR code; exports follow suit.
pub const ACCOUNTS_PER_URI: usize = 10;

/// `MigrationPayload` from Google Authenticator's export; the field numbers (in the comments) are
/// the wire contract, read and written in [`wire`].
#[derive(Default)]
struct Payload {
    /// 1: repeated message.
    otp_parameters: Vec<OtpParameters>,
    /// 2: optional int32. Always written by exporters; its absence means the payload was cut short.
    version: Option<i32>,
    /// 3, 4, 5: int32.
    batch_size: i32,
    batch_index: i32,
    batch_id: i32,
}

#[derive(Default)]
struct OtpParameters {
    /// 1: bytes.
    secret: Vec<u8>,
    /// 2, 3: string.
    name: String,
    issuer: String,
    /// 4: int32. 0 unspecified (SHA1), 1 SHA1, 2 SHA256, 3 SHA512, 4 MD5.
    algorithm: i32,
    /// 5: int32. 0 unspecified (six), 1 six, 2 eight.
    digits: i32,
    /// 6: int32. 0 unspecified (TOTP), 1 HOTP, 2 TOTP.
    r#type: i32,
    /// 7: int64.
    counter: i64,
}

impl Drop for OtpParameters {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// The accounts of one export QR code and where it sits in its export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationBatch {
    pub accounts: Vec<OtpAccount>,
    /// Warnings per account, by index into `accounts`.
    pub warnings: Vec<(usize, OtpWarning)>,
    pub version: i32,
    /// Zero-based index of this batch.
    pub batch_index: u32,
    /// How many batches the export has (at least 1).
    pub batch_size: u32,
    /// Shared by every batch of one export, so an app can tell exports apart.
    pub batch_id: i32,
}

impl MigrationBatch {
    /// "batch 2 of 3", for the screen that asks for the remaining codes.
    pub fn describe(&self) -> String {
        format!("batch {} of {}", self.batch_index + 1, self.batch_size)
    }

    /// Zero-based indexes of the batches of this export that are not in `seen` (which may
    /// include this batch's own index or not).
    pub fn missing(&self, seen: &[u32]) -> Vec<u32> {
        (0..self.batch_size)
            .filter(|i| *i != self.batch_index && !seen.contains(i))
            .collect()
    }
}

/// Why an export could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    #[error("not an otpauth-migration:// URI")]
    NotMigration,
    #[error("the URI has no data parameter")]
    MissingData,
    #[error("the data parameter is not valid base64")]
    InvalidBase64,
    #[error("the export payload is truncated or corrupt")]
    Malformed,
    #[error("batch index {index} is outside a batch of {size}")]
    InvalidBatch { index: i32, size: i32 },
    #[error("account {index} has no secret")]
    EmptySecret { index: usize },
    #[error("account {index}: unsupported {parameter} `{value}` (expected {})", parameter.expected())]
    Unsupported {
        index: usize,
        parameter: Parameter,
        value: String,
    },
    #[error("account {index} cannot be exported to Google Authenticator: {reason}")]
    NotExportable { index: usize, reason: String },
}

/// Reads one `otpauth-migration://offline?data=...` URI.
pub fn import(uri: &str) -> Result<MigrationBatch, MigrationError> {
    let uri = uri.trim();
    let rest = uri
        .get(..SCHEME.len())
        .filter(|head| head.eq_ignore_ascii_case(SCHEME))
        .map(|_| &uri[SCHEME.len()..])
        .ok_or(MigrationError::NotMigration)?;
    let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
    let data = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("data="))
        .filter(|d| !d.is_empty())
        .ok_or(MigrationError::MissingData)?;
    // Percent-decode only: base64 uses `+`, which form decoding would turn into a space. A `+`
    // that a careless copy turned into a space is turned back.
    let text = Zeroizing::new(
        percent_decode_str(data)
            .decode_utf8()
            .map_err(|_| MigrationError::InvalidBase64)?
            .replace(' ', "+"),
    );
    let bytes = Zeroizing::new(
        data_encoding::BASE64_NOPAD
            .decode(text.trim_end_matches('=').as_bytes())
            .map_err(|_| MigrationError::InvalidBase64)?,
    );
    decode(&bytes)
}

/// Decodes a raw `MigrationPayload`.
pub fn decode(bytes: &[u8]) -> Result<MigrationBatch, MigrationError> {
    let mut payload = wire::decode_payload(bytes).map_err(|_| MigrationError::Malformed)?;
    let version = payload.version.ok_or(MigrationError::Malformed)?;
    let batch_size = payload.batch_size.max(1);
    if !(0..batch_size).contains(&payload.batch_index) {
        return Err(MigrationError::InvalidBatch {
            index: payload.batch_index,
            size: payload.batch_size,
        });
    }
    let mut accounts = Vec::with_capacity(payload.otp_parameters.len());
    let mut warnings = Vec::new();
    for (index, params) in payload.otp_parameters.iter_mut().enumerate() {
        let mut account_warnings = Vec::new();
        accounts.push(read_account(index, params, &mut account_warnings)?);
        warnings.extend(account_warnings.into_iter().map(|w| (index, w)));
    }
    Ok(MigrationBatch {
        accounts,
        warnings,
        version,
        batch_index: payload.batch_index as u32,
        batch_size: batch_size as u32,
        batch_id: payload.batch_id,
    })
}

fn read_account(
    index: usize,
    params: &mut OtpParameters,
    warnings: &mut Vec<OtpWarning>,
) -> Result<OtpAccount, MigrationError> {
    let unsupported = |parameter, value: &dyn ToString| MigrationError::Unsupported {
        index,
        parameter,
        value: echo(&value.to_string()),
    };
    if params.secret.is_empty() {
        return Err(MigrationError::EmptySecret { index });
    }
    let secret = Secret::from_bytes(std::mem::take(&mut params.secret));
    let algorithm = match params.algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => return Err(unsupported(Parameter::Algorithm, &"MD5")),
        other => return Err(unsupported(Parameter::Algorithm, &other)),
    };
    let digits = match params.digits {
        0 | 1 => Digits::SIX,
        2 => Digits::EIGHT,
        other => return Err(unsupported(Parameter::Digits, &other)),
    };
    let kind = match params.r#type {
        0 | 2 => OtpKind::Totp {
            period: Period::DEFAULT,
        },
        1 => OtpKind::Hotp {
            counter: u64::try_from(params.counter)
                .map_err(|_| unsupported(Parameter::Counter, &params.counter))?,
        },
        other => return Err(unsupported(Parameter::Type, &other)),
    };
    let (label_issuer, account) = label::split(&params.name);
    let field_issuer = Some(std::mem::take(&mut params.issuer)).filter(|i| !i.is_empty());
    let issuer = label::settle_issuer(label_issuer, field_issuer, warnings);
    warnings.extend(secret_warnings(&secret));
    Ok(OtpAccount {
        issuer,
        account,
        secret,
        algorithm,
        digits,
        kind,
        image: None,
    })
}

/// Writes accounts as Google Authenticator export URIs, [`ACCOUNTS_PER_URI`] per URI, all
/// sharing `batch_id`. Fails, naming the account, if one cannot be carried faithfully (a period
/// other than 30 s, 7 digits, a counter beyond i64): nothing is exported half-right.
pub fn export(accounts: &[OtpAccount], batch_id: i32) -> Result<Vec<String>, MigrationError> {
    let chunks: Vec<&[OtpAccount]> = accounts.chunks(ACCOUNTS_PER_URI).collect();
    let batch_size =
        i32::try_from(chunks.len().max(1)).map_err(|_| MigrationError::NotExportable {
            index: 0,
            reason: "too many accounts".into(),
        })?;
    let mut uris = Vec::with_capacity(chunks.len());
    for (batch_index, chunk) in chunks.iter().enumerate() {
        let first = batch_index * ACCOUNTS_PER_URI;
        let otp_parameters = chunk
            .iter()
            .enumerate()
            .map(|(offset, account)| write_account(first + offset, account))
            .collect::<Result<_, _>>()?;
        let payload = Payload {
            otp_parameters,
            version: Some(1),
            batch_size,
            batch_index: batch_index as i32,
            batch_id,
        };
        let bytes = Zeroizing::new(wire::encode_payload(&payload));
        let data = Zeroizing::new(data_encoding::BASE64.encode(&bytes));
        uris.push(format!(
            "{SCHEME}offline?data={}",
            utf8_percent_encode(&data, NON_ALPHANUMERIC)
        ));
    }
    Ok(uris)
}

fn write_account(index: usize, account: &OtpAccount) -> Result<OtpParameters, MigrationError> {
    let refuse = |reason: String| MigrationError::NotExportable { index, reason };
    let digits = match account.digits.get() {
        6 => 1,
        8 => 2,
        other => {
            return Err(refuse(format!(
                "{other} digits (the format carries 6 or 8)"
            )))
        }
    };
    let (r#type, counter) = match account.kind {
        OtpKind::Totp { period } if period == Period::DEFAULT => (2, 0),
        OtpKind::Totp { period } => {
            return Err(refuse(format!(
                "a {} s period (the format carries only 30 s)",
                period.seconds()
            )))
        }
        OtpKind::Hotp { counter } => (
            1,
            i64::try_from(counter)
                .map_err(|_| refuse(format!("counter {counter} is too large")))?,
        ),
    };
    let name = match label::prefix(None, &account.account) {
        Some(prefix) => format!("{prefix}:{}", account.account),
        None => account.account.clone(),
    };
    Ok(OtpParameters {
        secret: account.secret.expose().to_vec(),
        name,
        issuer: account.issuer.clone().unwrap_or_default(),
        algorithm: match account.algorithm {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        },
        digits,
        r#type,
        counter,
    })
}
