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
