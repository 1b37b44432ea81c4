//! Google Authenticator export: payloads built here byte by byte (independently of the codec
//! under test, core/src/otp/migration/wire.rs) decode to the right accounts; export -> import
//! round-trips.

use authcore::otp::migration::{self, MigrationError, ACCOUNTS_PER_URI};
use authcore::otp::{
    Algorithm, Digits, OtpAccount, OtpKind, OtpWarning, Parameter, Period, Secret,
};

/// A minimal protobuf writer: varint and length-delimited fields are all the format uses.
#[derive(Default, Clone)]
struct Proto(Vec<u8>);

impl Proto {
    fn varint(mut self, field: u32, value: u64) -> Self {
        self.put_varint(u64::from(field << 3));
        self.put_varint(value);
        self
    }
    fn bytes(mut self, field: u32, value: &[u8]) -> Self {
        self.put_varint(u64::from(field << 3 | 2));
        self.put_varint(value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }
    fn put_varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }
}

struct Params<'a> {
    secret: &'a [u8],
    name: &'a str,
    issuer: &'a str,
    algorithm: u64,
    digits: u64,
    kind: u64,
    counter: u64,
}

fn otp_parameters(p: &Params) -> Vec<u8> {
    Proto::default()
        .bytes(1, p.secret)
        .bytes(2, p.name.as_bytes())
        .bytes(3, p.issuer.as_bytes())
        .varint(4, p.algorithm)
        .varint(5, p.digits)
        .varint(6, p.kind)
        .varint(7, p.counter)
        .0
}

fn payload(accounts: &[Params], batch_size: u64, batch_index: u64, batch_id: u64) -> Vec<u8> {
    let mut proto = Proto::default();
    for account in accounts {
        proto = proto.bytes(1, &otp_parameters(account));
    }
    proto
        .varint(2, 1)
        .varint(3, batch_size)
        .varint(4, batch_index)
        .varint(5, batch_id)
        .0
}

fn uri_of(bytes: &[u8]) -> String {
    let base64 = data_encoding::BASE64.encode(bytes);
    let escaped: String = base64
        .chars()
        .map(|c| match c {
            '+' => "%2B".to_string(),
            '/' => "%2F".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("otpauth-migration://offline?data={escaped}")
}

const SECRET_A: &[u8] = b"12345678901234567890";
const SECRET_B: &[u8] = b"abcdefghijklmnopqrstuvwxyz012345";

#[test]
fn multi_account_payload_decodes_every_field_and_enum() {
    let accounts = [
        Params {
            secret: SECRET_A,
            name: "alice@acme.example",
            issuer: "Acme",
            algorithm: 1,
            digits: 1,
            kind: 2,
            counter: 0,
        },
        Params {
            secret: SECRET_B,
            name: "bob",
            issuer: "Globex",
            algorithm: 2,
            digits: 2,
            kind: 2,
            counter: 0,
        },
        Params {
            secret: SECRET_A,
            name: "Initech:carol",
            issuer: "",
            algorithm: 3,
            digits: 1,
            kind: 1,
            counter: 42,
        },
        // Unspecified enums: SHA1, six digits, TOTP.
        Params {
            secret: SECRET_B,
            name: "dave",
            issuer: "Umbrella",
            algorithm: 0,
            digits: 0,
            kind: 0,
            counter: 0,
        },
    ];
    let batch = migration::import(&uri_of(&payload(&accounts, 1, 0, 7))).unwrap();
    assert_eq!(batch.version, 1);
    assert_eq!(
        (batch.batch_index, batch.batch_size, batch.batch_id),
        (0, 1, 7)
    );
    assert_eq!(batch.describe(), "batch 1 of 1");
    assert_eq!(batch.warnings, vec![]);
    let a = &batch.accounts;
    assert_eq!(a.len(), 4);

    assert_eq!(a[0].issuer.as_deref(), Some("Acme"));
    assert_eq!(a[0].account, "alice@acme.example");
    assert_eq!(a[0].secret.expose(), SECRET_A);
    assert_eq!(
        (a[0].algorithm, a[0].digits),
        (Algorithm::Sha1, Digits::SIX)
    );
    assert_eq!(
        a[0].kind,
        OtpKind::Totp {
            period: Period::DEFAULT
        }
    );

    assert_eq!(
        (a[1].algorithm, a[1].digits),
        (Algorithm::Sha256, Digits::EIGHT)
    );
    assert_eq!(a[1].secret.expose(), SECRET_B);

    assert_eq!(
        a[2].issuer.as_deref(),
        Some("Initech"),
        "issuer from the name's prefix"
    );
    assert_eq!(a[2].account, "carol");
    assert_eq!(a[2].algorithm, Algorithm::Sha512);
    assert_eq!(a[2].kind, OtpKind::Hotp { counter: 42 });

    assert_eq!(
        (a[3].algorithm, a[3].digits),
        (Algorithm::Sha1, Digits::SIX)
    );
    assert_eq!(
        a[3].kind,
        OtpKind::Totp {
            period: Period::DEFAULT
        }
    );
}

#[test]
fn second_batch_of_three_says_which_are_missing() {
    let accounts = [Params {
        secret: SECRET_A,
        name: "x",
        issuer: "X",
        algorithm: 1,
        digits: 1,
        kind: 2,
        counter: 0,
    }];
    let batch = migration::import(&uri_of(&payload(&accounts, 3, 1, 99))).unwrap();
    assert_eq!(batch.describe(), "batch 2 of 3");
    assert_eq!(batch.missing(&[]), vec![0, 2]);
    assert_eq!(batch.missing(&[0, 1]), vec![2]);
    assert_eq!(batch.missing(&[0, 2]), Vec::<u32>::new());
}

#[test]
fn warnings_name_the_account() {
    let accounts = [
        Params {
            secret: SECRET_A,
            name: "x",
            issuer: "X",
            algorithm: 1,
            digits: 1,
            kind: 2,
            counter: 0,
        },
        Params {
            secret: b"short",
            name: "Old:y",
            issuer: "New",
            algorithm: 1,
            digits: 1,
            kind: 2,
            counter: 0,
        },
    ];
    let batch = migration::import(&uri_of(&payload(&accounts, 1, 0, 1))).unwrap();
    assert_eq!(
        batch.warnings,
        vec![
            (
                1,
                OtpWarning::IssuerMismatch {
                    label: "Old".into(),
                    parameter: "New".into()
                }
            ),
            (1, OtpWarning::WeakSecret { bits: 40 }),
        ]
    );
    assert_eq!(batch.accounts[1].issuer.as_deref(), Some("New"));
}

#[test]
fn unsupported_values_name_account_and_parameter() {
    let base = |algorithm, digits, kind, counter: u64| {
        [
            Params {
                secret: SECRET_A,
                name: "ok",
                issuer: "",
                algorithm: 1,
                digits: 1,
                kind: 2,
                counter: 0,
            },
            Params {
                secret: SECRET_A,
                name: "bad",
                issuer: "",
                algorithm,
                digits,
                kind,
                counter,
            },
        ]
    };
    let unsupported = |parameter, value: &str| MigrationError::Unsupported {
        index: 1,
        parameter,
        value: value.into(),
    };
    let cases = [
        (base(4, 1, 2, 0), unsupported(Parameter::Algorithm, "MD5")),
        (base(9, 1, 2, 0), unsupported(Parameter::Algorithm, "9")),
        (base(1, 3, 2, 0), unsupported(Parameter::Digits, "3")),
        (base(1, 1, 5, 0), unsupported(Parameter::Type, "5")),
        (
            base(1, 1, 1, u64::MAX),
            unsupported(Parameter::Counter, "-1"),
        ),
    ];
    for (accounts, expected) in cases {
        assert_eq!(
            migration::import(&uri_of(&payload(&accounts, 1, 0, 1))),
            Err(expected.clone()),
            "{expected}"
        );
    }
    let empty = [Params {
        secret: b"",
        name: "x",
        issuer: "",
        algorithm: 1,
        digits: 1,
        kind: 2,
        counter: 0,
    }];
    assert_eq!(
        migration::import(&uri_of(&payload(&empty, 1, 0, 1))),
        Err(MigrationError::EmptySecret { index: 0 })
    );
}

#[test]
fn malformed_uris_and_payloads_give_their_exact_errors() {
    let accounts = [
        Params {
            secret: SECRET_A,
            name: "alice",
            issuer: "Acme",
            algorithm: 1,
            digits: 1,
            kind: 2,
            counter: 0,
        },
        Params {
            secret: SECRET_B,
            name: "bob",
            issuer: "Acme",
            algorithm: 2,
            digits: 2,
            kind: 1,
            counter: 3,
        },
    ];
    let full = payload(&accounts, 2, 1, 5);
    let cases = [
        (
            "otpauth://totp/a?secret=AA".to_string(),
            MigrationError::NotMigration,
        ),
        (
            "otpauth-migration://offline".to_string(),
            MigrationError::MissingData,
        ),
        (
            "otpauth-migration://offline?data=".to_string(),
            MigrationError::MissingData,
        ),
        (
            "otpauth-migration://offline?data=%%%".to_string(),
            MigrationError::InvalidBase64,
        ),
        (
            "otpauth-migration://offline?data=A".to_string(),
            MigrationError::InvalidBase64,
        ),
        (uri_of(&[0xff, 0xff, 0xff]), MigrationError::Malformed),
        (
            uri_of(&payload(&accounts, 2, 2, 5)),
            MigrationError::InvalidBatch { index: 2, size: 2 },
        ),
    ];
    for (uri, expected) in cases {
        assert_eq!(migration::import(&uri), Err(expected), "{uri}");
    }
    // Every cut before the trailing version field is detected: a truncated export never yields a
    // partial account list that looks complete.
    let version_at = full.len() - 6; // version(2), batch_size(2), batch_index(2); batch_id is 1 byte
    for cut in 0..version_at {
        assert_eq!(
            migration::decode(&full[..cut]),
            Err(MigrationError::Malformed),
            "cut at {cut} of {}",
            full.len()
        );
    }
}

fn sample_accounts(n: usize) -> Vec<OtpAccount> {
    (0..n)
        .map(|i| OtpAccount {
            issuer: (i % 3 != 0).then(|| format!("Issuer {i}")),
            account: if i % 5 == 0 {
                format!("team:user{i}")
            } else {
                format!("user{i}@example.com")
            },
            secret: Secret::from_bytes((0..20).map(|b| (b * 7 + i) as u8).collect()),
            algorithm: Algorithm::ALL[i % 3],
            digits: if i % 2 == 0 {
                Digits::SIX
            } else {
                Digits::EIGHT
            },
            kind: if i % 4 == 0 {
                OtpKind::Hotp {
                    counter: i as u64 * 1000,
                }
            } else {
                OtpKind::Totp {
                    period: Period::DEFAULT,
                }
            },
            image: None,
        })
        .collect()
}

#[test]
fn export_then_import_round_trips_across_batches() {
    let accounts = sample_accounts(25);
    let uris = migration::export(&accounts, 1234).unwrap();
    assert_eq!(uris.len(), 3);
    let mut back = Vec::new();
    for (index, uri) in uris.iter().enumerate() {
        let batch = migration::import(uri).unwrap();
        assert_eq!(batch.batch_id, 1234);
        assert_eq!(batch.batch_index as usize, index);
        assert_eq!(batch.batch_size, 3);
        assert!(batch.accounts.len() <= ACCOUNTS_PER_URI);
        back.extend(batch.accounts);
    }
    assert_eq!(back, accounts);
}

#[test]
fn export_refuses_what_the_format_cannot_carry() {
    let mut accounts = sample_accounts(3);
    accounts[1].kind = OtpKind::Totp {
        period: Period::new(60).unwrap(),
    };
    assert_eq!(
        migration::export(&accounts, 1),
        Err(MigrationError::NotExportable {
            index: 1,
            reason: "a 60 s period (the format carries only 30 s)".into()
        })
    );
    let mut accounts = sample_accounts(3);
    accounts[2].digits = Digits::new(7).unwrap();
    assert_eq!(
        migration::export(&accounts, 1),
        Err(MigrationError::NotExportable {
            index: 2,
            reason: "7 digits (the format carries 6 or 8)".into()
        })
    );
    let mut accounts = sample_accounts(1);
    accounts[0].kind = OtpKind::Hotp { counter: u64::MAX };
    assert!(matches!(
        migration::export(&accounts, 1),
        Err(MigrationError::NotExportable { index: 0, .. })
    ));
    assert_eq!(migration::export(&[], 1).unwrap().len(), 0);
}

impl Proto {
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.extend_from_slice(bytes);
        self
    }
}

/// Base64 of an export URI's data parameter, decoded.
fn data_of(uri: &str) -> Vec<u8> {
    let data = uri.split_once("data=").unwrap().1.replace("%2B", "+");
    let data = data.replace("%2F", "/").replace("%3D", "=");
    data_encoding::BASE64.decode(data.as_bytes()).unwrap()
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped_and_the_last_value_wins() {
    let alice = Params {
        secret: SECRET_A,
        name: "alice",
        issuer: "Acme",
        algorithm: 1,
        digits: 1,
        kind: 2,
        counter: 0,
    };
    // Unknown fields 9-13: varint, fixed64, length-delimited, fixed32, a group holding a varint.
    let unknown = [
        0x48, 0x96, 0x01, // 9: varint 150
        0x51, 1, 2, 3, 4, 5, 6, 7, 8, // 10: fixed64
        0x5a, 2, b'h', b'i', // 11: "hi"
        0x65, 1, 2, 3, 4, // 12: fixed32
        0x6b, 0x08, 0x01, 0x6c, // 13: group { 1: 1 }
    ];
    let params = Proto(otp_parameters(&alice))
        .raw(&unknown)
        .bytes(2, b"alice2") // a second name replaces the first
        .0;
    let bytes = Proto::default()
        .raw(&unknown)
        .bytes(1, &params)
        .varint(2, 1)
        .varint(3, 1)
        .varint(5, 7)
        .varint(5, 8) // the last batch_id counts
        .raw(&unknown)
        .0;
    let batch = migration::decode(&bytes).unwrap();
    assert_eq!(batch.accounts.len(), 1);
    assert_eq!(batch.accounts[0].account, "alice2");
    assert_eq!(batch.accounts[0].issuer.as_deref(), Some("Acme"));
    assert_eq!(batch.accounts[0].secret.expose(), SECRET_A);
    assert_eq!(batch.batch_id, 8);
}

#[test]
fn wire_errors_are_malformed() {
    let version = Proto::default().varint(2, 1).0;
    let cases: [(&str, Vec<u8>); 8] = [
        (
            "field number 0",
            Proto(version.clone()).raw(&[0x00, 0x01]).0,
        ),
        (
            "a varint of 11 bytes",
            Proto(version.clone())
                .raw(&[0x48])
                .raw(&[0xff; 10])
                .raw(&[0x01])
                .0,
        ),
        (
            "a tenth varint byte above 1",
            Proto(version.clone())
                .raw(&[0x48])
                .raw(&[0xff; 9])
                .raw(&[0x02])
                .0,
        ),
        (
            "a group that never ends",
            Proto(version.clone()).raw(&[0x6b, 0x08, 0x01]).0,
        ),
        (
            "a group closed by another number",
            Proto(version.clone()).raw(&[0x6b, 0x74]).0,
        ),
        ("wire type 6", Proto(version.clone()).raw(&[0x4e]).0),
        ("the version as a string", Proto::default().bytes(2, b"1").0),
        (
            "a name that is not UTF-8",
            Proto::default()
                .bytes(
                    1,
                    &Proto::default()
                        .bytes(1, SECRET_A)
                        .bytes(2, &[0xff, 0xfe])
                        .0,
                )
                .raw(&version)
                .0,
        ),
    ];
    for (what, bytes) in cases {
        assert_eq!(
            migration::decode(&bytes),
            Err(MigrationError::Malformed),
            "{what}"
        );
    }
    let secret_as_varint = Proto::default()
        .raw(&[0x0a, 2, 0x08, 0x01]) // an account whose field 1 (bytes) is a varint
        .raw(&version)
        .0;
    assert_eq!(
        migration::decode(&secret_as_varint),
        Err(MigrationError::Malformed)
    );
}

#[test]
fn export_writes_the_fields_in_order_without_defaults_and_negative_ids_in_ten_bytes() {
    let account = sample_accounts(2).remove(1); // TOTP, 8 digits, issuer "Issuer 1"
    let uris = migration::export(std::slice::from_ref(&account), -7).unwrap();
    let params = Proto::default()
        .bytes(1, account.secret.expose())
        .bytes(2, account.account.as_bytes())
        .bytes(3, b"Issuer 1")
        .varint(4, 2) // SHA256
        .varint(5, 2) // eight digits
        .varint(6, 2) // TOTP; counter 0 is left out
        .0;
    let expected = Proto::default()
        .bytes(1, &params)
        .varint(2, 1)
        .varint(3, 1) // batch_index 0 is left out
        .varint(5, -7i64 as u64)
        .0;
    assert_eq!(data_of(&uris[0]), expected);
    let back = migration::import(&uris[0]).unwrap();
    assert_eq!(back.batch_id, -7);
    assert_eq!(back.accounts, vec![account]);
}
