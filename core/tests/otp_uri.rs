//! Table tests of real-world otpauth:// shapes and of every malformed case with its exact error.

use authcore::otp::uri::{self, UriError};
use authcore::otp::{
    Algorithm, Digits, OtpKind, OtpWarning, Parameter, Period, Secret, SecretError,
};

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"; // 160 bits

fn parse(uri: &str) -> uri::ParsedUri {
    uri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

#[test]
fn issuer_in_label_only() {
    let p = parse(&format!(
        "otpauth://totp/Acme:alice@acme.example?secret={SECRET}"
    ));
    assert_eq!(p.account.issuer.as_deref(), Some("Acme"));
    assert_eq!(p.account.account, "alice@acme.example");
    assert_eq!(p.warnings, vec![]);
    assert_eq!(p.account.algorithm, Algorithm::Sha1);
    assert_eq!(p.account.digits, Digits::SIX);
    assert_eq!(
        p.account.kind,
        OtpKind::Totp {
            period: Period::DEFAULT
        }
    );
}

#[test]
fn issuer_in_parameter_only() {
    let p = parse(&format!(
        "otpauth://totp/alice@acme.example?secret={SECRET}&issuer=Acme"
    ));
    assert_eq!(p.account.issuer.as_deref(), Some("Acme"));
    assert_eq!(p.account.account, "alice@acme.example");
    assert_eq!(p.warnings, vec![]);
}

#[test]
fn differing_issuers_use_the_parameter_and_say_so() {
    let p = parse(&format!(
        "otpauth://totp/Old%20Name:alice?secret={SECRET}&issuer=New+Name"
    ));
    assert_eq!(p.account.issuer.as_deref(), Some("New Name"));
    assert_eq!(
        p.warnings,
        vec![OtpWarning::IssuerMismatch {
            label: "Old Name".into(),
            parameter: "New Name".into()
        }]
    );
    assert_eq!(p.warnings[0].kind(), "issuer_mismatch");
}

#[test]
fn percent_encoded_label_with_spaces() {
    let p = parse(&format!(
        "otpauth://totp/ACME%20Co:john.doe%40email.com?secret={SECRET}&issuer=ACME%20Co"
    ));
    assert_eq!(p.account.issuer.as_deref(), Some("ACME Co"));
    assert_eq!(p.account.account, "john.doe@email.com");
    // Encoded colon and a space before the account name, both allowed by the format.
    let p = parse(&format!(
        "otpauth://totp/Example%3A%20alice?secret={SECRET}"
    ));
    assert_eq!(p.account.issuer.as_deref(), Some("Example"));
    assert_eq!(p.account.account, "alice");
}

#[test]
fn lower_case_secret_spaces_and_missing_padding() {
    let canonical = Secret::from_base32("GEZDGNBVGY3TQOJQ").unwrap();
    for secret in [
        "gezdgnbvgy3tqojq",
        "GEZD%20GNBV%20GY3T%20QOJQ",
        "GEZDGNBVGY3TQOJQ%3D%3D%3D",
    ] {
        let p = parse(&format!("otpauth://totp/a?secret={secret}"));
        assert_eq!(p.account.secret, canonical, "{secret}");
    }
    // "GEZDGNBVGY3TQOJQGEZA": 12.5 bytes written without padding.
    let p = parse("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZA");
    assert_eq!(p.account.secret.bits(), 96);
}

#[test]
fn eight_digits_sixty_seconds_sha512_and_hotp() {
    let p = parse(&format!(
        "OTPAUTH://TOTP/Bank:me?secret={SECRET}&digits=8&period=60&algorithm=sha512"
    ));
    assert_eq!(p.account.digits, Digits::EIGHT);
    assert_eq!(
        p.account.kind,
        OtpKind::Totp {
            period: Period::new(60).unwrap()
        }
    );
    assert_eq!(p.account.algorithm, Algorithm::Sha512);

    let p = parse(&format!(
        "otpauth://hotp/Acme:bob?secret={SECRET}&counter=18446744073709551615&algorithm=SHA256"
    ));
    assert_eq!(p.account.kind, OtpKind::Hotp { counter: u64::MAX });
    assert_eq!(p.account.algorithm, Algorithm::Sha256);
}

#[test]
fn image_is_kept_and_unknown_parameters_ignored() {
    let p = parse(&format!(
        "otpauth://totp/Acme:a?secret={SECRET}&image=https%3A%2F%2Facme.example%2Flogo.png&foo=bar"
    ));
    assert_eq!(
        p.account.image.as_deref(),
        Some("https://acme.example/logo.png")
    );
    let again = uri::parse(&uri::format(&p.account)).unwrap();
    assert_eq!(again.account, p.account);
}

#[test]
fn weak_secret_is_accepted_with_a_warning() {
    let p = parse("otpauth://totp/Acme:a?secret=JBSWY3DPEHPK3PXP");
    assert_eq!(p.account.secret.bits(), 80);
    assert_eq!(p.warnings, vec![OtpWarning::WeakSecret { bits: 80 }]);
    assert_eq!(p.warnings[0].kind(), "weak_secret");
}

#[test]
fn malformed_uris_give_their_exact_errors() {
    use Parameter::*;
    let unsupported = |parameter, value: &str| UriError::Unsupported {
        parameter,
        value: value.into(),
    };
    let cases: Vec<(String, UriError)> = vec![
        ("https://acme.example".into(), UriError::NotOtpauth),
        (
            "otpauth-migration://offline?data=AA".into(),
            UriError::NotOtpauth,
        ),
        ("".into(), UriError::NotOtpauth),
        (
            format!("otpauth://motp/a?secret={SECRET}"),
            UriError::UnknownType("motp".into()),
        ),
        (
            format!("otpauth://totp?secret={SECRET}"),
            UriError::MissingLabel,
        ),
        (
            format!("otpauth://totp/?secret={SECRET}"),
            UriError::MissingLabel,
        ),
        (
            format!("otpauth://totp/%FF?secret={SECRET}"),
            UriError::InvalidLabel,
        ),
        (
            "otpauth://totp/a".into(),
            UriError::MissingParameter(Secret),
        ),
        (
            "otpauth://totp/a?issuer=x".into(),
            UriError::MissingParameter(Secret),
        ),
        (
            format!("otpauth://hotp/a?secret={SECRET}"),
            UriError::MissingParameter(Counter),
        ),
        (
            "otpauth://totp/a?secret=".into(),
            UriError::Secret(SecretError::Empty),
        ),
        (
            "otpauth://totp/a?secret=ABC1".into(),
            UriError::Secret(SecretError::InvalidCharacter { position: 4 }),
        ),
        (
            "otpauth://totp/a?secret=%3D%3D".into(),
            UriError::Secret(SecretError::Empty),
        ),
        (
            "otpauth://totp/a?secret=A".into(),
            UriError::Secret(SecretError::InvalidLength { length: 1 }),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&digits=5"),
            unsupported(Digits, "5"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&digits=9"),
            unsupported(Digits, "9"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&digits=six"),
            unsupported(Digits, "six"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&algorithm=MD5"),
            unsupported(Algorithm, "MD5"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&period=0"),
            unsupported(Period, "0"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&period=3601"),
            unsupported(Period, "3601"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&period=-30"),
            unsupported(Period, "-30"),
        ),
        (
            format!("otpauth://hotp/a?secret={SECRET}&counter=-1"),
            unsupported(Counter, "-1"),
        ),
        (
            format!("otpauth://hotp/a?secret={SECRET}&counter=18446744073709551616"),
            unsupported(Counter, "18446744073709551616"),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&secret={SECRET}"),
            UriError::DuplicateParameter(Secret),
        ),
        (
            format!("otpauth://totp/a?secret={SECRET}&digits=6&digits=8"),
            UriError::DuplicateParameter(Digits),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(uri::parse(&input), Err(expected), "{input}");
    }
}

#[test]
fn errors_read_clearly_and_never_echo_secrets() {
    let err = uri::parse(&format!("otpauth://totp/a?secret={SECRET}&digits=5")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported digits `5` (expected 6, 7 or 8)"
    );
    let err = uri::parse("otpauth://totp/a?secret=JBSWY3DPEHPK3PX1").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the secret is not base32: invalid character at position 16"
    );
    let long = "x".repeat(500);
    let err = uri::parse(&format!("otpauth://{long}/a")).unwrap_err();
    assert!(err.to_string().len() < 100, "{err}");
}

#[test]
fn format_writes_every_parameter_and_escapes_the_label() {
    let p = parse(&format!(
        "otpauth://totp/ACME%20Co:john%40x.com?secret={SECRET}"
    ));
    assert_eq!(
        uri::format(&p.account),
        format!("otpauth://totp/ACME%20Co:john@x.com?secret={SECRET}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30")
    );
}

#[test]
fn accounts_with_colons_round_trip() {
    let mut account = parse(&format!("otpauth://totp/a?secret={SECRET}")).account;
    account.account = "team:alice".into();
    account.issuer = None;
    assert_eq!(uri::parse(&uri::format(&account)).unwrap().account, account);
    account.issuer = Some("A:B".into());
    assert_eq!(uri::parse(&uri::format(&account)).unwrap().account, account);
}
