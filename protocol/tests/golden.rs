//! Golden tests: every JSON example of docs/protocol.md parses into its protocol type and
//! serializes back equal (as a `serde_json::Value`). The examples are read from the document at
//! test time: fenced `json` blocks, the JSON lines of the other fenced blocks (`400 {...}`), and
//! inline code spans that start with `{`. The few that are not JSON (field lists such as
//! `{"device_id","display_name",…}`) are named in [`NOT_MACHINE_CHECKED`].

use authcore_protocol::account::{
    ActiveSessions, BackupCodes, ChangePasswordRequest, CodeRequest, Confirmed,
    ForgotPasswordRequest, PasswordChanged, PasswordReset, Removed, ResetCodeSent, SecurityEvents,
    SignIns, TotpEnrollment, UserInfo,
};
use authcore_protocol::admin::OrgUsers;
use authcore_protocol::credentials::{
    AppPasswordCreated, AppPasswords, NewAppPassword, SecurityTokenSent,
};
use authcore_protocol::devices::{
    ActivateRequest, Activated, Attestation, Challenges, DecisionAnswer, DecisionRequest,
    EnrollmentStarted, PushTokenUpdate, PushTokenUpdated, Wake,
};
use authcore_protocol::discovery::Discovery;
use authcore_protocol::oidc::{IdTokenClaims, IdTokenHeader, JwkSet, UserInfoClaims};
use authcore_protocol::signin::{AuthorizationCode, LoginMethods, LoginMethodsRequest, Next};
use authcore_protocol::tokens::{LoggedOut, LoggedOutEverywhere, Revoked, Tokens};
use authcore_protocol::{ErrorBody, ErrorCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Examples of the document that are not JSON or not ours (the push vendors' formats), by how
/// they start, and why.
const NOT_MACHINE_CHECKED: &[(&str, &str)] = &[
    (
        r#"{"message":{"token":…"#,
        "the FCM v1 message the server sends Google: Google's format (server/tests/push_vendors.rs checks it)",
    ),
    (
        r#"{"aps":"#,
        "the APNs body the server sends Apple: Apple's format (server/tests/push_vendors.rs checks it)",
    ),
    (
        r#"{"alg":"ES256","kid":key_id}"#,
        "the APNs provider token's JOSE header, a field list",
    ),
    (
        r#"{"iss":team_id"#,
        "the APNs provider token's claims, a field list",
    ),
    (
        r#"{"codes": ["7k3m-q9xa", …"#,
        "the list of ten codes is elided",
    ),
    (
        r#"{"devices":[{"device_id","display_name""#,
        "a field list of GET /v1/me/devices",
    ),
    (
        r#"{"display_name"?:"#,
        "a field list of PATCH /v1/me/devices/{id}",
    ),
    (
        r#"{"enrollment_id","expires_at""#,
        "a field list of GET /v1/me/authenticators/{id}",
    ),
    (
        r#"{"at", "kind": "security_event""#,
        "a field list of a security event in the history",
    ),
    (r#"{"messages": [{"id""#, "a field list of the --dev outbox"),
    (
        r#"{"status": "sent_if_account_exists", "destination_hint": "a***@acme.example", "length": 6, "expires_at": …}"#,
        "the expiry is elided",
    ),
    (
        r#"{"format":"apple-appattest","object""#,
        "split over two code spans by the line break",
    ),
    (
        r#"{"identifier", "code", "new_password"}"#,
        "a field list of POST /v1/password/reset",
    ),
];

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    std::fs::read_to_string(path).expect("docs/protocol.md")
}

/// Every candidate example: the text from its `{` to the end of its block or span.
fn candidates(doc: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut prose = String::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            prose.push_str(line);
            prose.push('\n');
            continue;
        };
        let mut block = Vec::new();
        for inner in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            block.push(inner);
        }
        if info.trim() == "json" {
            found.push(without_status(block.join("\n").trim()).to_owned());
            continue;
        }
        // Other blocks: a JSON value starts a line, possibly after an HTTP status.
        for (i, inner) in block.iter().enumerate() {
            let trimmed = inner.trim_start();
            let rest = without_status(trimmed);
            if rest.starts_with('{') {
                let mut text = rest.to_owned();
                for more in &block[i + 1..] {
                    text.push('\n');
                    text.push_str(more);
                }
                found.push(text);
            }
        }
    }
    // Inline code spans of the prose that start with `{` (possibly after a status).
    for (i, span) in prose.split('`').enumerate() {
        if i % 2 == 0 {
            continue;
        }
        let span = without_status(span.trim());
        if span.starts_with("{\"") || span == "{}" {
            found.push(span.to_owned());
        }
    }
    found
}

/// `text` without a leading HTTP status (`400 {...}`).
fn without_status(text: &str) -> &str {
    match text.split_once(' ') {
        Some((status, rest)) if status.len() == 3 && status.parse::<u16>().is_ok() => rest,
        _ => text,
    }
}

/// The first JSON value of `text` (what follows it is prose or the next request).
fn first_value(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()?
        .ok()
}

fn round_trip<T: Serialize + DeserializeOwned>(example: &Value) -> Value {
    let typed: T = serde_json::from_value(example.clone())
        .unwrap_or_else(|e| panic!("{example} does not parse into its type: {e}"));
    serde_json::to_value(&typed).unwrap()
}

/// Parses an example into the type its fields name, and serializes it back.
fn typed(example: &Value) -> (&'static str, Value) {
    let has = |key: &str| example.get(key).is_some();
    let status = example.get("status").and_then(Value::as_str);
    match () {
        _ if has("error") => ("ErrorBody", round_trip::<ErrorBody>(example)),
        _ if has("issuer") => ("Discovery", round_trip::<Discovery>(example)),
        _ if has("identifier_type") => ("LoginMethods", round_trip::<LoginMethods>(example)),
        // `POST /v1/login/methods` and `POST /v1/password/forgot` take the same body.
        _ if has("identifier") => {
            assert_eq!(round_trip::<ForgotPasswordRequest>(example), *example);
            (
                "LoginMethodsRequest",
                round_trip::<LoginMethodsRequest>(example),
            )
        }
        _ if has("type") => ("Next", round_trip::<Next>(example)),
        _ if has("authorization_code") => (
            "AuthorizationCode",
            round_trip::<AuthorizationCode>(example),
        ),
        _ if has("access_token") => ("Tokens", round_trip::<Tokens>(example)),
        _ if has("recent_devices") => (
            "LoggedOutEverywhere",
            round_trip::<LoggedOutEverywhere>(example),
        ),
        _ if status == Some("password_changed") && has("revoked_sessions") => {
            ("PasswordChanged", round_trip::<PasswordChanged>(example))
        }
        _ if has("sessions_revoked") => ("PasswordReset", round_trip::<PasswordReset>(example)),
        _ if status == Some("sent_if_account_exists") => {
            ("ResetCodeSent", round_trip::<ResetCodeSent>(example))
        }
        _ if has("revoked_sessions") => ("LoggedOut", round_trip::<LoggedOut>(example)),
        _ if has("auth_time") && has("sid") => {
            ("IdTokenClaims", round_trip::<IdTokenClaims>(example))
        }
        _ if has("keys") => ("JwkSet", round_trip::<JwkSet>(example)),
        _ if has("alg") && has("typ") => ("IdTokenHeader", round_trip::<IdTokenHeader>(example)),
        // Userinfo: the claims of the granted scopes; with every claim, also the native shape.
        _ if has("sub") => {
            if has("name") && has("email") {
                assert_eq!(round_trip::<UserInfo>(example), *example);
            }
            ("UserInfoClaims", round_trip::<UserInfoClaims>(example))
        }
        _ if has("sign_ins") => ("SignIns", round_trip::<SignIns>(example)),
        _ if has("sessions") => ("ActiveSessions", round_trip::<ActiveSessions>(example)),
        _ if has("events") => ("SecurityEvents", round_trip::<SecurityEvents>(example)),
        _ if has("otpauth_uri") => ("TotpEnrollment", round_trip::<TotpEnrollment>(example)),
        _ if has("current_password") => (
            "ChangePasswordRequest",
            round_trip::<ChangePasswordRequest>(example),
        ),
        _ if has("confirmed") => ("Confirmed", round_trip::<Confirmed>(example)),
        _ if has("removed") => ("Removed", round_trip::<Removed>(example)),
        _ if has("codes") => ("BackupCodes", round_trip::<BackupCodes>(example)),
        _ if has("public_key") => ("ActivateRequest", round_trip::<ActivateRequest>(example)),
        _ if has("test_request_id") => ("Activated", round_trip::<Activated>(example)),
        _ if has("qr_payload") => (
            "EnrollmentStarted",
            round_trip::<EnrollmentStarted>(example),
        ),
        _ if has("challenges") => ("Challenges", round_trip::<Challenges>(example)),
        _ if has("decision") => ("DecisionRequest", round_trip::<DecisionRequest>(example)),
        _ if has("result") => ("DecisionAnswer", round_trip::<DecisionAnswer>(example)),
        _ if has("format") => ("Attestation", round_trip::<Attestation>(example)),
        _ if has("push_token") => ("PushTokenUpdate", round_trip::<PushTokenUpdate>(example)),
        _ if has("push_enabled") => ("PushTokenUpdated", round_trip::<PushTokenUpdated>(example)),
        _ if has("device_id") && has("request_id") => ("Wake", round_trip::<Wake>(example)),
        _ if has("code") => ("CodeRequest", round_trip::<CodeRequest>(example)),
        _ if has("organization") && has("users") => ("OrgUsers", round_trip::<OrgUsers>(example)),
        _ if has("app_passwords") => ("AppPasswords", round_trip::<AppPasswords>(example)),
        _ if has("password") && has("created_at") => (
            "AppPasswordCreated",
            round_trip::<AppPasswordCreated>(example),
        ),
        _ if has("name") => ("NewAppPassword", round_trip::<NewAppPassword>(example)),
        _ if has("destination_hint") => (
            "SecurityTokenSent",
            round_trip::<SecurityTokenSent>(example),
        ),
        _ if example.as_object().is_some_and(|o| o.is_empty()) => {
            ("Revoked", round_trip::<Revoked>(example))
        }
        _ => panic!("no protocol type for the example {example}"),
    }
}

#[test]
fn every_json_example_of_the_protocol_round_trips_through_its_type() {
    let doc = doc();
    let mut checked = Vec::new();
    let mut skipped = Vec::new();
    for candidate in candidates(&doc) {
        if let Some(known) = NOT_MACHINE_CHECKED
            .iter()
            .position(|(start, _)| candidate.starts_with(start))
        {
            skipped.push(known);
            continue;
        }
        match first_value(&candidate) {
            Some(example) => {
                let (name, back) = typed(&example);
                assert_eq!(
                    back, example,
                    "{name} does not serialize back to the example"
                );
                checked.push(name);
            }
            None => panic!("not JSON and not listed as not machine-checked: {candidate}"),
        }
    }
    // 40 JSON examples today: fewer means the extraction stopped finding some.
    assert!(
        checked.len() >= 40,
        "only {} JSON examples found",
        checked.len()
    );
    for (i, (start, _)) in NOT_MACHINE_CHECKED.iter().enumerate() {
        assert!(
            skipped.contains(&i),
            "listed as not machine-checked but not in the document: {start}"
        );
    }
    // Every answer type of the document is held to an example.
    for name in [
        "ErrorBody",
        "Discovery",
        "LoginMethods",
        "LoginMethodsRequest",
        "Next",
        "AuthorizationCode",
        "Tokens",
        "LoggedOutEverywhere",
        "PasswordChanged",
        "PasswordReset",
        "LoggedOut",
        "UserInfoClaims",
        "IdTokenClaims",
        "IdTokenHeader",
        "JwkSet",
        "SignIns",
        "ActiveSessions",
        "SecurityEvents",
        "TotpEnrollment",
        "ChangePasswordRequest",
        "Confirmed",
        "Removed",
        "ActivateRequest",
        "Activated",
        "EnrollmentStarted",
        "Challenges",
        "DecisionRequest",
        "DecisionAnswer",
        "Wake",
        "CodeRequest",
        "Revoked",
        "AppPasswords",
        "AppPasswordCreated",
        "NewAppPassword",
        "SecurityTokenSent",
        "OrgUsers",
    ] {
        assert!(
            checked.contains(&name),
            "no example of {name} in docs/protocol.md"
        );
    }
}

#[test]
fn every_next_step_of_the_table_has_an_example() {
    let doc = doc();
    let mut seen = Vec::new();
    for candidate in candidates(&doc) {
        let Some(example) = first_value(&candidate) else {
            continue;
        };
        let next = example
            .get("next")
            .cloned()
            .or_else(|| example.get("type").is_some().then_some(example));
        if let Some(next) = next {
            let step: Next = serde_json::from_value(next.clone()).unwrap();
            assert!(
                !matches!(step, Next::Unknown { .. }),
                "{next} is not a step this version reads"
            );
            seen.push(next["type"].as_str().unwrap().to_owned());
        }
    }
    for step in [
        "password",
        "verify_device",
        "choose_second_factor",
        "push",
        "enroll_authenticator",
        "activate_authenticator",
        "approve_test_push",
    ] {
        assert!(
            seen.iter().any(|s| s == step),
            "no example of next.type {step}"
        );
    }
}

#[test]
fn every_error_code_of_the_table_is_an_error_code() {
    let doc = doc();
    let table = doc
        .split("| `error` | status |")
        .nth(1)
        .expect("the errors table");
    let mut codes = Vec::new();
    for row in table.lines().skip(2) {
        let Some(cell) = row.strip_prefix("| `") else {
            break;
        };
        let code = cell.split('`').next().unwrap();
        let parsed: ErrorCode = serde_json::from_value(Value::from(code))
            .unwrap_or_else(|e| panic!("`{code}` is not an ErrorCode: {e}"));
        assert_eq!(parsed.as_str(), code);
        codes.push(parsed);
    }
    assert_eq!(
        codes,
        ErrorCode::ALL,
        "the table and ErrorCode::ALL differ (or their order)"
    );
}
