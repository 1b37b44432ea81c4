//! The authenticator story with the real core on both sides: Dave signs in on his laptop (the
//! `SignIn` flow) and approves on his phone (the `Authenticator`), against the reference server
//! behind TLS on Globex's own sign-in host.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use authcore::authenticator::{
    Added, ApprovalKind, ApprovalRequest, Authenticator, AuthenticatorError, NumberPrompt,
};
use authcore::session::Session;
use authcore::signin::{MethodKind, SignIn, SignInState};
use authcore::{AuthClient, ClientError, Timestamp};
use authcore_e2e::*;

fn method(state: &SignInState, kind: MethodKind) -> authcore::signin::SignInMethod {
    let SignInState::ChooseMethod { methods, .. } = state else {
        panic!("expected the method list, got {state:?}");
    };
    methods.iter().find(|m| m.kind == kind).cloned().unwrap()
}

/// Email -> Password -> (new device: email code) -> the state after the first factors.
async fn password_steps(tls: &TlsWorld, laptop: &AuthClient, user: (&str, &str)) -> SignIn {
    let flow = laptop.sign_in();
    let methods = flow.start(user.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    if let SignInState::EnterCode { .. } = flow.submit_password(user.1).await.unwrap() {
        let code = tls.world.last_code(user.0).await;
        flow.submit_code(&code).await.unwrap();
    }
    flow
}

fn signed_in(state: SignInState) -> Session {
    match state {
        SignInState::Done { session } => session,
        other => panic!("expected to be signed in, got {other:?}"),
    }
}

/// Dave's laptop, recognised, with his phone enrolled by QR code; the phone's test approval done.
async fn enrolled(tls: &TlsWorld, phone: &Authenticator) -> (AuthClient, Session) {
    let laptop = tls.app("dave-laptop");
    let flow = password_steps(tls, &laptop, DAVE).await;
    let state = flow.enroll_authenticator().await.unwrap();
    let SignInState::ActivateAuthenticator { qr_payload, .. } = state else {
        panic!("{state:?}")
    };
    let Added::Push(account) = phone.add_from_qr(qr_payload.expose()).await.unwrap() else {
        panic!("not a push account")
    };
    assert_eq!(account.label, "Globex: dave@globex.example");
    let SignInState::ApproveTestPush { number, .. } = flow.wait_for_phone().await.unwrap() else {
        panic!("no test approval")
    };
    let test = only(phone.pending_approvals(5).await.unwrap());
    assert_eq!(test.kind, ApprovalKind::Test);
    phone.approve(&test.id, &number).await.unwrap();
    let session = signed_in(flow.wait_for_phone().await.unwrap());
    (laptop, session)
}

fn only(mut requests: Vec<ApprovalRequest>) -> ApprovalRequest {
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.remove(0)
}

/// A sign-in on the recognised laptop up to "enter 22 on your phone".
async fn push_sign_in(tls: &TlsWorld, laptop: &AuthClient) -> (SignIn, String) {
    let flow = password_steps(tls, laptop, DAVE).await;
    let SignInState::ApprovePush { number, expires_at } = flow.state() else {
        panic!("expected a push, got {:?}", flow.state())
    };
    assert!(expires_at > Timestamp::from_unix_seconds(tls.world.now()));
    (flow, number)
}

#[tokio::test]
async fn the_whole_story_skip_enroll_by_qr_test_approval_then_sign_in_with_the_number() {
    let tls = start_tls_server().await;
    let fingerprint = Arc::new(Fingerprint::default());
    let phone = tls.phone("Dave's Pixel", true, fingerprint.clone());
    let laptop = tls.app("dave-laptop");

    // first sign-in: password, "confirm it's you" by email, "Protect your account" -> skip
    let flow = password_steps(&tls, &laptop, DAVE).await;
    assert_eq!(
        flow.state(),
        SignInState::EnrollAuthenticator {
            skips_left: 3,
            mandatory: false
        }
    );
    signed_in(flow.skip_enrollment().await.unwrap());

    // next sign-in: 2 skips left; set it up now -> QR code and "Can't scan image?"
    let flow = password_steps(&tls, &laptop, DAVE).await;
    assert_eq!(
        flow.state(),
        SignInState::EnrollAuthenticator {
            skips_left: 2,
            mandatory: false
        }
    );
    let state = flow.enroll_authenticator().await.unwrap();
    let SignInState::ActivateAuthenticator {
        qr_payload,
        activation_code,
        server_url,
        label,
        ..
    } = &state
    else {
        panic!("{state:?}")
    };
    assert_eq!(format!("{qr_payload:?}"), "<redacted>");
    assert!(qr_payload
        .expose()
        .starts_with("authcore://enroll?v=1&url="));
    assert_eq!(activation_code.expose().len(), 14, "XXXX-XXXX-XXXX");
    assert_eq!(server_url, &tls.world.base, "the server's issuer URL");
    assert_eq!(label, "Globex: dave@globex.example");

    // the phone scans it and registers its key
    let Added::Push(account) = phone.add_from_qr(qr_payload.expose()).await.unwrap() else {
        panic!("not a push account")
    };
    assert!(account.device_id.starts_with("dv_"));
    assert_eq!(phone.accounts().len(), 1);

    // the laptop shows the test number; the phone enters it behind the fingerprint
    let SignInState::ApproveTestPush { number, .. } = flow.wait_for_phone().await.unwrap() else {
        panic!("no test approval")
    };
    assert_eq!(number.len(), 2);
    let test = only(phone.pending_approvals(5).await.unwrap());
    assert_eq!(test.kind, ApprovalKind::Test);
    assert_eq!(test.prompt, NumberPrompt::Enter { length: 2 });
    phone.approve(&test.id, &number).await.unwrap();
    assert_eq!(
        fingerprint.asked.lock().unwrap().as_slice(),
        ["Finish setting up Globex: dave@globex.example"]
    );
    let session = signed_in(flow.wait_for_phone().await.unwrap());

    // sign in with the phone: the laptop shows the number, the phone waits, gets it, enters it
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(10).await.unwrap());
    assert_eq!(request.kind, ApprovalKind::SignIn);
    assert_eq!(request.context.app, "Authcore Demo");
    assert_eq!(request.context.ip, "127.0.0.1");
    phone.approve(&request.id, &number).await.unwrap();
    signed_in(flow.wait_for_phone().await.unwrap());

    // the history tells the story; log out everywhere ends it
    let history = session.sign_in_history().await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.contains(&"enrollment"), "{kinds:?}");
    assert!(history
        .iter()
        .any(|h| h.method == "push" || h.factors.contains(&"push".to_owned())));
    assert!(session.logout_everywhere().await.unwrap() >= 3);
    tls.world.stop().await;
}

#[tokio::test]
async fn a_phone_long_polling_wakes_when_the_push_is_created() {
    let tls = start_tls_server().await;
    let phone = Arc::new(tls.phone("Dave's Pixel", false, Arc::default()));
    let (laptop, _) = enrolled(&tls, &phone).await;
    let waiting = tokio::spawn({
        let phone = phone.clone();
        async move { phone.pending_approvals(20).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(waiting.await.unwrap().unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    phone.approve(&request.id, &number).await.unwrap();
    signed_in(flow.wait_for_phone().await.unwrap());
    tls.world.stop().await;
}

#[tokio::test]
async fn a_wrong_number_denies_the_sign_in() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(5).await.unwrap());
    let wrong = if number == "10" { "11" } else { "10" };
    assert_eq!(
        phone.approve(&request.id, "7").await.unwrap_err(),
        AuthenticatorError::InvalidNumber { length: 2 }
    );
    assert_eq!(
        phone.approve(&request.id, wrong).await.unwrap_err(),
        AuthenticatorError::NumberMismatch
    );
    assert_eq!(
        flow.wait_for_phone().await.unwrap_err(),
        ClientError::NumberMismatch
    );
    // answered once: the right number now is too late
    assert_eq!(
        phone.approve(&request.id, &number).await.unwrap_err(),
        AuthenticatorError::AlreadyAnswered
    );
    tls.world.stop().await;
}

#[tokio::test]
async fn deny_then_report_fraud_blocks_further_pushes() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, session) = enrolled(&tls, &phone).await;

    let (flow, _) = push_sign_in(&tls, &laptop).await;
    phone
        .deny(&only(phone.pending_approvals(5).await.unwrap()).id)
        .await
        .unwrap();
    assert_eq!(
        flow.wait_for_phone().await.unwrap_err(),
        ClientError::PushDenied {
            fraud_reported: false
        }
    );

    // "send another request" -> this time it was not Dave: report fraud
    let state = flow.resend_push().await.unwrap();
    assert!(matches!(state, SignInState::ApprovePush { .. }));
    phone
        .report_fraud(&only(phone.pending_approvals(5).await.unwrap()).id)
        .await
        .unwrap();
    assert_eq!(
        flow.wait_for_phone().await.unwrap_err(),
        ClientError::PushDenied {
            fraud_reported: true
        }
    );
    assert!(matches!(
        flow.resend_push().await.unwrap_err(),
        ClientError::PushBlocked { retry_after } if retry_after > 3500
    ));
    let history = session.sign_in_history().await.unwrap();
    assert!(history.iter().any(|h| h.result == "fraud_reported"));
    tls.world.stop().await;
}

#[tokio::test]
async fn without_the_fingerprint_nothing_is_sent() {
    let tls = start_tls_server().await;
    let fingerprint = Arc::new(Fingerprint::default());
    let phone = tls.phone("Dave's Pixel", false, fingerprint.clone());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(5).await.unwrap());
    fingerprint.refuse.store(true, Ordering::SeqCst);
    assert_eq!(
        phone.approve(&request.id, &number).await.unwrap_err(),
        AuthenticatorError::UserNotVerified
    );
    // still pending: the user can try again
    assert_eq!(
        only(phone.pending_approvals(0).await.unwrap()).id,
        request.id
    );
    fingerprint.refuse.store(false, Ordering::SeqCst);
    phone.approve(&request.id, &number).await.unwrap();
    signed_in(flow.wait_for_phone().await.unwrap());
    tls.world.stop().await;
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(5).await.unwrap());
    tls.world.server.clock().advance(121);
    let refused = phone.approve(&request.id, &number).await.unwrap_err();
    // the phone's signed request carries its own clock, now 121 s behind: still accepted
    assert_eq!(refused, AuthenticatorError::Expired);
    assert_eq!(
        flow.wait_for_phone().await.unwrap_err(),
        ClientError::Expired
    );
    tls.world.stop().await;
}

#[tokio::test]
async fn two_sign_ins_at_once_each_get_their_own_number() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let (first, first_number) = push_sign_in(&tls, &laptop).await;
    let (second, second_number) = push_sign_in(&tls, &laptop).await;
    assert_ne!(first_number, second_number);
    let mut requests = phone.pending_approvals(5).await.unwrap();
    assert_eq!(requests.len(), 2);
    requests.sort_by(|a, b| a.id.cmp(&b.id));
    // answer them in reverse order, each with its own number
    phone
        .approve(&requests[1].id, &second_number)
        .await
        .unwrap();
    phone.approve(&requests[0].id, &first_number).await.unwrap();
    signed_in(first.wait_for_phone().await.unwrap());
    signed_in(second.wait_for_phone().await.unwrap());
    tls.world.stop().await;
}

#[tokio::test]
async fn a_removed_phone_cannot_approve() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, session) = enrolled(&tls, &phone).await;
    let (_flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(5).await.unwrap());
    let devices = session.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].display_name, "Dave's Pixel");
    session.remove_device(&devices[0].device_id).await.unwrap();
    assert_eq!(
        phone.approve(&request.id, &number).await.unwrap_err(),
        AuthenticatorError::DeviceRemoved
    );
    assert_eq!(
        phone.pending_approvals(0).await.unwrap_err(),
        AuthenticatorError::DeviceRemoved
    );
    tls.world.stop().await;
}

#[tokio::test]
async fn an_activation_code_works_once_and_can_be_typed() {
    let tls = start_tls_server().await;
    let laptop = tls.app("dave-laptop");
    let flow = password_steps(&tls, &laptop, DAVE).await;
    let SignInState::ActivateAuthenticator {
        qr_payload,
        activation_code,
        server_url,
        ..
    } = flow.enroll_authenticator().await.unwrap()
    else {
        panic!()
    };
    // "Can't scan image?": typed in lower case with spaces
    let typed = activation_code.expose().to_lowercase().replace('-', " ");
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    phone.activate_manually(&typed, &server_url).await.unwrap();

    // a second phone scanning the same QR code is refused
    let other = tls.phone("Mallory's phone", false, Arc::default());
    assert_eq!(
        other.add_from_qr(qr_payload.expose()).await.unwrap_err(),
        AuthenticatorError::InvalidActivationCode
    );
    assert!(other.accounts().is_empty());
    assert!(matches!(
        other
            .add_from_qr("https://example.com/not-a-code")
            .await
            .unwrap_err(),
        AuthenticatorError::InvalidQr { .. }
    ));
    assert!(matches!(
        other
            .activate_manually("ABCD", &server_url)
            .await
            .unwrap_err(),
        AuthenticatorError::InvalidQr { .. }
    ));
    tls.world.stop().await;
}

#[tokio::test]
async fn an_activation_code_expires() {
    let tls = start_tls_server().await;
    let laptop = tls.app("dave-laptop");
    let flow = password_steps(&tls, &laptop, DAVE).await;
    let SignInState::ActivateAuthenticator { qr_payload, .. } =
        flow.enroll_authenticator().await.unwrap()
    else {
        panic!()
    };
    tls.world.server.clock().advance(601);
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    assert_eq!(
        phone.add_from_qr(qr_payload.expose()).await.unwrap_err(),
        AuthenticatorError::Expired
    );
    tls.world.stop().await;
}

#[tokio::test]
async fn skips_run_out_then_enrollment_is_mandatory() {
    let tls = start_tls_server().await;
    let laptop = tls.app("dave-laptop");
    for left in [3, 2, 1] {
        let flow = password_steps(&tls, &laptop, DAVE).await;
        assert_eq!(
            flow.state(),
            SignInState::EnrollAuthenticator {
                skips_left: left,
                mandatory: false
            }
        );
        signed_in(flow.skip_enrollment().await.unwrap());
        // Dave has no second factor, so every sign-in confirms him by email; stay under the cap
        tls.world.server.clock().advance(601);
    }
    let flow = password_steps(&tls, &laptop, DAVE).await;
    assert_eq!(
        flow.state(),
        SignInState::EnrollAuthenticator {
            skips_left: 0,
            mandatory: true
        }
    );
    assert_eq!(
        flow.skip_enrollment().await.unwrap_err(),
        ClientError::EnrollmentRequired
    );
    assert!(matches!(
        flow.enroll_authenticator().await.unwrap(),
        SignInState::ActivateAuthenticator { .. }
    ));
    tls.world.stop().await;
}

#[tokio::test]
async fn phone_sign_in_without_a_password_needs_a_verified_phone() {
    // Software keys have no attestation: the server takes user_verification at its word.
    let tls = start_tls_server_software_keys().await;
    // a phone whose keys need the fingerprint (user verification)
    let phone = tls.phone("Dave's iPhone", true, Arc::default());
    let (_, _) = enrolled(&tls, &phone).await;
    let laptop = tls.app("dave-laptop");
    let flow = laptop.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    let by_phone = method(&methods, MethodKind::Push);
    assert_eq!(by_phone.display_name, "Sign in with my phone");
    let SignInState::ApprovePush { number, .. } = flow.choose_method(&by_phone).await.unwrap()
    else {
        panic!()
    };
    let request = only(phone.pending_approvals(5).await.unwrap());
    phone.approve(&request.id, &number).await.unwrap();
    signed_in(flow.wait_for_phone().await.unwrap());

    // Acme does not allow it: the method is not offered, and asking anyway is refused
    let world = start_server().await;
    let flow = world.app("alice-laptop").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    let SignInState::ChooseMethod { methods: list, .. } = &methods else {
        panic!()
    };
    assert!(list.iter().all(|m| m.kind != MethodKind::Push));
    world.stop().await;
    tls.world.stop().await;
}

#[tokio::test]
async fn a_phone_without_user_verification_never_sees_phone_sign_ins() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's Pixel", false, Arc::default());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let flow = laptop.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Push))
        .await
        .unwrap();
    assert!(phone.pending_approvals(1).await.unwrap().is_empty());
    tls.world.stop().await;
}

#[tokio::test]
async fn a_request_this_phone_did_not_fetch_cannot_be_answered() {
    let tls = start_tls_server().await;
    let fingerprint = Arc::new(Fingerprint::default());
    let phone = tls.phone("Dave's Pixel", false, fingerprint.clone());
    let (laptop, _) = enrolled(&tls, &phone).await;
    let asked = fingerprint.asked.lock().unwrap().len();
    let (flow, number) = push_sign_in(&tls, &laptop).await;

    // ids the phone never fetched: refused before the fingerprint is asked or anything is sent
    let unknown = AuthenticatorError::UnknownRequest;
    assert_eq!(phone.approve("999", &number).await.unwrap_err(), unknown);
    assert_eq!(phone.approve("", &number).await.unwrap_err(), unknown);
    assert_eq!(phone.deny("999").await.unwrap_err(), unknown);
    assert_eq!(phone.report_fraud("999").await.unwrap_err(), unknown);
    assert_eq!(fingerprint.asked.lock().unwrap().len(), asked);

    // the request the server holds for Dave, answered from another phone that never fetched it
    let request = only(phone.pending_approvals(5).await.unwrap());
    let other = tls.phone("Dave's old phone", false, Arc::default());
    assert_eq!(other.report_fraud(&request.id).await.unwrap_err(), unknown);
    assert_eq!(
        other.approve(&request.id, &number).await.unwrap_err(),
        unknown
    );
    assert_eq!(other.deny(&request.id).await.unwrap_err(), unknown);

    // the sign-in is still waiting, and the phone that fetched it approves it
    phone.approve(&request.id, &number).await.unwrap();
    signed_in(flow.wait_for_phone().await.unwrap());
    tls.world.stop().await;
}

#[tokio::test]
async fn answering_one_request_many_times_at_once_counts_once() {
    let tls = start_tls_server().await;
    let phone = Arc::new(tls.phone("Dave's Pixel", false, Arc::default()));
    let (laptop, _) = enrolled(&tls, &phone).await;
    let (flow, number) = push_sign_in(&tls, &laptop).await;
    let request = only(phone.pending_approvals(5).await.unwrap());
    let answers: Vec<_> = (0..5)
        .map(|_| {
            let (phone, id, number) = (phone.clone(), request.id.clone(), number.clone());
            tokio::spawn(async move { phone.approve(&id, &number).await })
        })
        .collect();
    let mut approved = 0;
    for answer in answers {
        match answer.await.unwrap() {
            Ok(()) => approved += 1,
            Err(error) => assert_eq!(error, AuthenticatorError::AlreadyAnswered),
        }
    }
    assert_eq!(approved, 1);
    signed_in(flow.wait_for_phone().await.unwrap());
    tls.world.stop().await;
}

/// A new phone with no push account: the long-poll waits out its time instead of answering at
/// once, so an app that polls in a loop does not spin (it answered at once before: thousands of
/// calls a second on Android's main dispatcher).
#[tokio::test]
async fn with_no_push_account_the_long_poll_waits_instead_of_spinning() {
    let tls = start_tls_server().await;
    let phone = tls.phone("New phone", false, Arc::default());
    assert_eq!(phone.pending_approvals(0).await.unwrap(), []);
    let started = std::time::Instant::now();
    let mut calls = 0;
    while started.elapsed() < std::time::Duration::from_secs(2) {
        assert_eq!(phone.pending_approvals(1).await.unwrap(), []);
        calls += 1;
    }
    assert!(calls <= 3, "{calls} long-polls in 2 s");
}

/// FCM or APNs hands the phone a token: one that arrived before any account is sent when the
/// phone registers; a new one later reaches every server it is registered with (the device list
/// shows pushes on), and `None` turns them off.
#[tokio::test]
async fn a_new_push_token_reaches_the_server_and_later_registrations() {
    let tls = start_tls_server().await;
    let phone = tls.phone("Dave's phone", true, Arc::default());
    // No account yet: nothing to send, the token is kept.
    phone
        .update_push_token(Some(" apns-token-1 "))
        .await
        .unwrap();
    let (_, session) = enrolled(&tls, &phone).await;
    let push_enabled = |devices: Vec<authcore::session::Device>| {
        devices.iter().map(|d| d.push_enabled).collect::<Vec<_>>()
    };
    assert_eq!(push_enabled(session.devices().await.unwrap()), [true]);

    phone.update_push_token(None).await.unwrap();
    assert_eq!(push_enabled(session.devices().await.unwrap()), [false]);
    phone.update_push_token(Some("fcm-token-2")).await.unwrap();
    assert_eq!(push_enabled(session.devices().await.unwrap()), [true]);
    tls.world.stop().await;
}
