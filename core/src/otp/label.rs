//! The `Issuer:account` label shared by otpauth:// URIs and Google Authenticator export names.

use super::OtpWarning;

/// Splits a decoded label at its first colon into an issuer prefix and an account name (leading
/// spaces of the account are dropped, as the Key URI format allows them). An empty prefix counts
/// as no issuer, which is how [`join`] writes accounts whose own names contain a colon.
pub(super) fn split(label: &str) -> (Option<String>, String) {
    match label.split_once(':') {
        Some((issuer, account)) => (
            Some(issuer.to_owned()).filter(|i| !i.is_empty()),
            account.trim_start().to_owned(),
        ),
        None => (None, label.trim_start().to_owned()),
    }
}

/// The issuer prefix to write before the account name so that [`split`] gives both back:
/// the issuer itself when it is colon-free, an empty prefix when the account needs one to keep
/// its own colons, nothing otherwise (the issuer then travels in its own field).
pub(super) fn prefix<'a>(issuer: Option<&'a str>, account: &str) -> Option<&'a str> {
    match issuer {
        Some(issuer) if !issuer.contains(':') => Some(issuer),
        _ if account.contains(':') => Some(""),
        _ => None,
    }
}

/// Settles the issuer from a label prefix and an explicit issuer field: the field wins, and a
/// disagreement is reported.
pub(super) fn settle_issuer(
    from_label: Option<String>,
    from_field: Option<String>,
    warnings: &mut Vec<OtpWarning>,
) -> Option<String> {
    match (from_label, from_field) {
        (Some(label), Some(parameter)) if label != parameter => {
            warnings.push(OtpWarning::IssuerMismatch {
                label,
                parameter: parameter.clone(),
            });
            Some(parameter)
        }
        (label, field) => field.or(label),
    }
}
