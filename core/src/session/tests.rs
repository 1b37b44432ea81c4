use authcore_protocol::account;
use authcore_protocol::devices::Enrollment;

use super::*;

#[test]
fn security_events_and_history_entries_decode_with_or_without_optional_fields() {
    let events: Vec<SecurityEvent> = serde_json::from_str::<Vec<account::SecurityEvent>>(
        r#"[{"at":5,"kind":"authenticator_added","detail":"Dave's Pixel","ip":"127.0.0.1","user_agent":"AcmeApp/1.0"},
            {"at":4,"kind":"totp_removed","detail":null,"ip":"127.0.0.1","user_agent":""},
            {"at":3,"kind":"factors_suspended","detail":{"devices":1},"ip":"10.0.0.1","user_agent":"x"}]"#,
    )
    .unwrap()
    .into_iter()
    .map(SecurityEvent::from)
    .collect();
    assert_eq!(events[0].detail, "Dave's Pixel");
    assert_eq!(events[1].detail, "");
    assert_eq!(events[2].detail, r#"{"devices":1}"#);
    // a security event in the sign-in history need not carry the sign-in fields
    let record: SignInRecord = serde_json::from_str::<account::SignInEntry>(
        r#"{"at":5,"kind":"security_event","method":"totp_added"}"#,
    )
    .unwrap()
    .into();
    assert_eq!(
        (record.kind.as_str(), record.factors.len()),
        ("security_event", 0)
    );
}

#[test]
fn enrollment_statuses_follow_the_protocol() {
    // The enrollment's id and expiry, as every answer carries them.
    let status = |fields: &str| {
        let json = format!(r#"{{"enrollment_id":"5","expires_at":9,{fields}}}"#);
        EnrollmentStatus::try_from(serde_json::from_str::<Enrollment>(&json).unwrap())
    };
    assert_eq!(
        status(r#""status":"approve_test","test":{"request_id":"1","number":"42","expires_at":9}"#),
        Ok(EnrollmentStatus::ApproveTest {
            number: "42".into(),
            expires_at: Timestamp::from_unix_seconds(9)
        })
    );
    assert_eq!(
        status(r#""status":"completed","device_id":"dv_x""#),
        Ok(EnrollmentStatus::Completed {
            device_id: "dv_x".into()
        })
    );
    assert_eq!(
        status(r#""status":"failed","reason":"number_mismatch""#),
        Ok(EnrollmentStatus::Failed {
            reason: "number_mismatch".into()
        })
    );
    assert!(matches!(
        status(r#""status":"approve_test""#),
        Err(ClientError::Protocol { .. })
    ));
    assert!(matches!(
        status(r#""status":"sideways""#),
        Err(ClientError::Protocol { .. })
    ));
}
