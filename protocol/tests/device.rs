//! The device wire format (`authcore_protocol::device`): activation codes, enroll links and the
//! canonical messages, byte for byte.

use authcore_protocol::device::*;

#[test]
fn activation_codes_normalise_and_group() {
    let code = ActivationCode::generate();
    assert_eq!(code.expose().len(), ACTIVATION_CODE_LEN);
    let typed = code.grouped().to_lowercase().replace('-', " ");
    assert_eq!(ActivationCode::parse(&typed).unwrap(), code);
    let parsed = ActivationCode::parse("7k3m-q9xa-r2td").unwrap();
    assert_eq!(parsed.expose(), "7K3MQ9XAR2TD");
    assert_eq!(parsed.grouped(), "7K3M-Q9XA-R2TD");
    assert_eq!(
        ActivationCode::parse("ilo0-0000-0000").unwrap().expose(),
        "110000000000"
    );
    assert_eq!(
        ActivationCode::parse("7K3M-Q9XA-R2T"),
        Err(ActivationCodeError::Length)
    );
    assert_eq!(
        ActivationCode::parse("7K3M-Q9XA-R2TDX"),
        Err(ActivationCodeError::Length)
    );
    assert_eq!(
        ActivationCode::parse("7K3M-Q9XA-R2U!"),
        Err(ActivationCodeError::Character)
    );
    assert_eq!(format!("{parsed:?}"), "ActivationCode(<redacted>)");
}

#[test]
fn enroll_links_round_trip_and_refuse_bad_input() {
    let link = EnrollLink {
        server_url: "https://login.globex.example".into(),
        activation_code: ActivationCode::parse("7K3M-Q9XA-R2TD").unwrap(),
        label: Some("Globex: carol@globex.example".into()),
    };
    let uri = link.to_uri();
    assert_eq!(
        uri,
        "authcore://enroll?v=1&url=https%3A%2F%2Flogin.globex.example&code=7K3MQ9XAR2TD&label=Globex%3A%20carol%40globex.example"
    );
    assert_eq!(EnrollLink::parse(&uri).unwrap(), link);
    assert!(!format!("{link:?}").contains("7K3M"));
    assert_eq!(
        EnrollLink::parse("otpauth://totp/x?secret=AA"),
        Err(EnrollLinkError::NotAnEnrollLink)
    );
    assert_eq!(
        EnrollLink::parse("authcore://enroll?url=https%3A%2F%2Fa.example&code=7K3MQ9XAR2TD"),
        Err(EnrollLinkError::Missing("v"))
    );
    assert_eq!(
        EnrollLink::parse("authcore://enroll?v=2&url=https%3A%2F%2Fa.example&code=7K3MQ9XAR2TD"),
        Err(EnrollLinkError::UnsupportedVersion("2".into()))
    );
    assert_eq!(
        EnrollLink::parse("authcore://enroll?v=1&code=7K3MQ9XAR2TD"),
        Err(EnrollLinkError::Missing("url"))
    );
    assert_eq!(
        EnrollLink::parse("authcore://enroll?v=1&url=https%3A%2F%2Fa.example"),
        Err(EnrollLinkError::Missing("code"))
    );
    assert_eq!(
        EnrollLink::parse("authcore://enroll?v=1&url=http%3A%2F%2Fa.example&code=7K3MQ9XAR2TD"),
        Err(EnrollLinkError::InsecureServerUrl)
    );
    assert!(EnrollLink::parse(
        "authcore://enroll?v=1&url=http%3A%2F%2F127.0.0.1%3A8080&code=7K3MQ9XAR2TD"
    )
    .is_ok());
    assert_eq!(
        EnrollLink::parse("authcore://enroll?v=1&url=https%3A%2F%2Fa.example&code=7K3M"),
        Err(EnrollLinkError::BadActivationCode(
            ActivationCodeError::Length
        ))
    );
    assert_eq!(
        EnrollLink::parse(
            "authcore://enroll?v=1&v=1&url=https%3A%2F%2Fa.example&code=7K3MQ9XAR2TD"
        ),
        Err(EnrollLinkError::Repeated("v"))
    );
}

#[test]
fn canonical_messages_are_byte_exact() {
    let message = request_message(&RequestParts {
        method: "GET",
        path_and_query: "/v1/devices/challenges?wait=30",
        body: b"",
        timestamp: 1_767_225_600,
        nonce: "q3JzV0l5c2VfTm9uY2UxMjM0",
        device_id: "dv_Zm9vYmFyYmF6cXV4cXV1eA",
    })
    .unwrap();
    assert_eq!(
        String::from_utf8(message).unwrap(),
        "AUTHCORE-DEVICE-REQUEST-V1\nGET\n/v1/devices/challenges?wait=30\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\n1767225600\nq3JzV0l5c2VfTm9uY2UxMjM0\ndv_Zm9vYmFyYmF6cXV4cXV1eA"
    );
    let decision = decision_message(
        "42",
        Decision::Approve,
        "22",
        1_767_225_600,
        "dv_Zm9vYmFyYmF6cXV4cXV1eA",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(decision).unwrap(),
        "AUTHCORE-PUSH-DECISION-V1\n42\napprove\n22\n1767225600\ndv_Zm9vYmFyYmF6cXV4cXV1eA"
    );
    assert_eq!(
        decision_message("42", Decision::Deny, "22", 1, "dv_x"),
        Err(MessageError::Number)
    );
    assert_eq!(
        decision_message("42\n", Decision::Deny, "", 1, "dv_x"),
        Err(MessageError::RequestId)
    );
    let bad_nonce = RequestParts {
        method: "GET",
        path_and_query: "/",
        body: b"",
        timestamp: 1,
        nonce: "short",
        device_id: "",
    };
    assert_eq!(request_message(&bad_nonce), Err(MessageError::Nonce));
    assert!(valid_nonce(&new_nonce()));
}
