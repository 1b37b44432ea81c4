//! What the user typed to sign in: an email address or a phone number, normalised, and the
//! masked forms shown back to them.

use crate::error::ApiError;

/// A normalised identifier: an email address or an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email { address: String, domain: String },
    Phone(String),
}

impl Identifier {
    pub fn parse(raw: &str) -> Result<Identifier, ApiError> {
        let raw = raw.trim();
        let bad = || {
            ApiError::invalid_request(
                "identifier must be an email address or a phone number in +E.164 form",
            )
        };
        if raw.len() > 254 {
            return Err(bad());
        }
        if let Some(digits) = raw.strip_prefix('+') {
            let digits: String = digits
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
                .collect();
            if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                return Ok(Identifier::Phone(format!("+{digits}")));
            }
            return Err(bad());
        }
        let address = raw.to_lowercase();
        let (local, domain) = address.split_once('@').ok_or_else(bad)?;
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains(char::is_whitespace) || !valid_domain {
            return Err(bad());
        }
        Ok(Identifier::Email {
            domain: domain.to_owned(),
            address,
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email { address, .. } => address,
            Identifier::Phone(p) => p,
        }
    }

    /// The send-cap and code key.
    pub(super) fn code_key(&self) -> String {
        match self {
            Identifier::Email { address, .. } => format!("email:{address}"),
            Identifier::Phone(p) => format!("phone:{p}"),
        }
    }
}

/// `n***@acme.example`
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `+*******0101`
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().min(4);
    let hidden = digits.len() - keep;
    let tail: String = digits[hidden..].iter().collect();
    format!("+{}{tail}", "*".repeat(hidden))
}

/// The number a phone second factor reaches, as "Verify your identity" shows it: every digit an
/// `X` but the last two, grouped from the end as 4, 3 and 3 digits (`-` between them) while
/// enough are left, the digits before them (the country code, for numbers of 11 digits or more)
/// in front, set off by a space: `+15555550163` is `+X XXX-XXX-XX63`, `+447700900123` is
/// `+XX XXX-XXX-XX23`, `+3312345678` is `+XXX-XXX-XX78`, `+12345678` is `+X XXX-XX78`.
pub fn phone_hint(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let shown = digits.len().saturating_sub(2);
    let masked: Vec<char> = digits
        .iter()
        .enumerate()
        .map(|(i, d)| if i < shown { 'X' } else { *d })
        .collect();
    let mut groups: Vec<String> = Vec::new();
    let mut end = masked.len();
    for size in [4, 3, 3] {
        if end < size {
            break;
        }
        let start = end - size;
        groups.insert(0, masked[start..end].iter().collect());
        end = start;
    }
    let national = groups.join("-");
    if end == 0 {
        format!("+{national}")
    } else {
        let lead: String = masked[..end].iter().collect();
        format!("+{lead} {national}")
    }
}
