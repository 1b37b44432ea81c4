//! The Key URI format: `otpauth://TYPE/LABEL?PARAMETERS`, as QR codes carry accounts.
//!
//! Reading is lenient where real issuers vary (case of the scheme, type, algorithm and secret;
//! spaces and padding in the secret; `+` or `%20` for spaces) and strict where a guess would lose
//! the account: an unsupported value is an error naming its parameter, never a silent default.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::echo;

use super::{
    label, secret_warnings, Algorithm, Digits, OtpAccount, OtpKind, OtpWarning, Parameter, Period,
    Secret, SecretError,
};

const SCHEME: &str = "otpauth://";

/// Everything outside the unreserved set (and `@`, common in account names) is escaped.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// An account read from a URI, with what was accepted but is worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUri {
    pub account: OtpAccount,
    pub warnings: Vec<OtpWarning>,
}

/// Why a URI could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("not an otpauth:// URI")]
    NotOtpauth,
    #[error("unknown OTP type `{0}` (expected totp or hotp)")]
    UnknownType(String),
    #[error("the URI has no account label")]
    MissingLabel,
    #[error("the label is not valid percent-encoded UTF-8")]
    InvalidLabel,
    #[error("missing required parameter `{0}`")]
    MissingParameter(Parameter),
    #[error("parameter `{0}` appears more than once")]
    DuplicateParameter(Parameter),
    #[error("unsupported {parameter} `{value}` (expected {})", parameter.expected())]
    Unsupported { parameter: Parameter, value: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Reads an `otpauth://totp/...` or `otpauth://hotp/...` URI.
pub fn parse(uri: &str) -> Result<ParsedUri, UriError> {
    let uri = uri.trim();
    let rest = strip_prefix_ignore_case(uri, SCHEME).ok_or(UriError::NotOtpauth)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (kind, raw_label) = path.split_once('/').unwrap_or((path, ""));
    let is_totp = if kind.eq_ignore_ascii_case("totp") {
        true
    } else if kind.eq_ignore_ascii_case("hotp") {
        false
    } else {
        return Err(UriError::UnknownType(echo(kind)));
    };

    let decoded = percent_decode_str(raw_label)
        .decode_utf8()
        .map_err(|_| UriError::InvalidLabel)?;
    let (label_issuer, account) = label::split(&decoded);
    if account.is_empty() && label_issuer.is_none() {
        return Err(UriError::MissingLabel);
    }

    let params = Parameters::read(query)?;
    let secret = Secret::from_base32(
        params
            .secret
            .as_deref()
            .ok_or(UriError::MissingParameter(Parameter::Secret))?,
    )?;
    let algorithm = match params.algorithm.as_deref() {
        None => Algorithm::Sha1,
        Some(name) => {
            Algorithm::from_name(name).ok_or_else(|| unsupported(Parameter::Algorithm, name))?
        }
    };
    let digits = match params.digits.as_deref() {
        None => Digits::SIX,
        Some(text) => text
            .parse()
            .ok()
            .and_then(Digits::new)
            .ok_or_else(|| unsupported(Parameter::Digits, text))?,
    };
    let kind = if is_totp {
        let period = match params.period.as_deref() {
            None => Period::DEFAULT,
            Some(text) => text
                .parse()
                .ok()
                .and_then(Period::new)
                .ok_or_else(|| unsupported(Parameter::Period, text))?,
        };
        OtpKind::Totp { period }
    } else {
        let text = params
            .counter
            .as_deref()
            .ok_or(UriError::MissingParameter(Parameter::Counter))?;
        let counter = text
            .parse()
            .map_err(|_| unsupported(Parameter::Counter, text))?;
        OtpKind::Hotp { counter }
    };

    let mut warnings = Vec::new();
    let issuer = label::settle_issuer(label_issuer, params.issuer, &mut warnings);
    warnings.extend(secret_warnings(&secret));
    Ok(ParsedUri {
        account: OtpAccount {
            issuer,
            account,
            secret,
            algorithm,
            digits,
            kind,
            image: params.image,
        },
        warnings,
    })
}

/// Writes an account as a URI that [`parse`] reads back to the same account. Every parameter is
/// written explicitly (algorithm, digits, period) so no reader has to rely on defaults.
pub fn format(account: &OtpAccount) -> String {
    let mut uri = String::from(SCHEME);
    uri.push_str(match account.kind {
        OtpKind::Totp { .. } => "totp/",
        OtpKind::Hotp { .. } => "hotp/",
    });
    if let Some(prefix) = label::prefix(account.issuer.as_deref(), &account.account) {
        uri.extend(utf8_percent_encode(prefix, ESCAPE));
        uri.push(':');
    }
    uri.extend(utf8_percent_encode(&account.account, ESCAPE));
    uri.push_str("?secret=");
    uri.push_str(&account.secret.to_base32());
    if let Some(issuer) = &account.issuer {
        uri.push_str("&issuer=");
        uri.extend(utf8_percent_encode(issuer, ESCAPE));
    }
    uri.push_str("&algorithm=");
    uri.push_str(account.algorithm.name());
    uri.push_str(&format!("&digits={}", account.digits.get()));
    match account.kind {
        OtpKind::Totp { period } => uri.push_str(&format!("&period={}", period.seconds())),
        OtpKind::Hotp { counter } => uri.push_str(&format!("&counter={counter}")),
    }
    if let Some(image) = &account.image {
        uri.push_str("&image=");
        uri.extend(utf8_percent_encode(image, ESCAPE));
    }
    uri
}

fn unsupported(parameter: Parameter, value: &str) -> UriError {
    UriError::Unsupported {
        parameter,
        value: echo(value),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The query parameters we know; unknown ones are ignored, as the Key URI format says.
#[derive(Default)]
struct Parameters {
    secret: Option<zeroize::Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<String>,
    digits: Option<String>,
    period: Option<String>,
    counter: Option<String>,
    image: Option<String>,
}

impl Parameters {
    fn read(query: &str) -> Result<Self, UriError> {
        let mut params = Parameters::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            let (parameter, slot) = match key.to_ascii_lowercase().as_str() {
                "secret" => {
                    if params.secret.is_some() {
                        return Err(UriError::DuplicateParameter(Parameter::Secret));
                    }
                    params.secret = Some(zeroize::Zeroizing::new(value));
                    continue;
                }
                "issuer" => (Parameter::Issuer, &mut params.issuer),
                "algorithm" => (Parameter::Algorithm, &mut params.algorithm),
                "digits" => (Parameter::Digits, &mut params.digits),
                "period" => (Parameter::Period, &mut params.period),
                "counter" => (Parameter::Counter, &mut params.counter),
                "image" => (Parameter::Image, &mut params.image),
                _ => continue,
            };
            if slot.is_some() {
                return Err(UriError::DuplicateParameter(parameter));
            }
            // An empty value (`issuer=`) says nothing; treat it as absent.
            *slot = Some(value).filter(|v| !v.is_empty());
        }
        Ok(params)
    }
}
