//! Step-up ("confirm it's you") with the real core on both sides: a session whose sign-in was weak
//! (the password alone) or old (more than 10 minutes ago) cannot bind an authenticator, add a
//! TOTP credential or make new backup codes; the step-up sign-in for the same user (password plus
//! the emailed code for a user without a second factor; password plus TOTP for Bob) gives a fresh
//! session that can, and the old session ends.

use std::sync::Arc;

use authcore::authenticator::{Added, ApprovalKind};
use authcore::session::{EndReason, EnrollmentStatus, Session, SessionState};
use authcore::signin::{CodeChannel, CodePurpose, MethodKind, SecondFactor, SignInState};
use authcore::{AuthClient, ClientError};
use authcore_e2e::*;

const STEP_UP: ClientError = ClientError::StepUpRequired { max_age_s: 600 };

async fn password_only(app: &AuthClient, user: (&str, &str)) -> Session {
    let flow = app.sign_in();
    let SignInState::ChooseMethod { methods, .. } = flow.start(user.0).await.unwrap() else {
        panic!("no method list")
    };
    let password = methods
        .into_iter()
        .find(|m| m.kind == MethodKind::Password)
        .unwrap();
    flow.choose_method(&password).await.unwrap();
    match flow.submit_password(user.1).await.unwrap() {
        SignInState::Done { session } => session,
        other => panic!("not signed in: {other:?}"),
    }
}

fn password(state: &SignInState) -> authcore::signin::SignInMethod {
    let SignInState::ChooseMethod { methods, .. } = state else {
        panic!("expected the method list, got {state:?}");
    };
    methods
        .iter()
        .find(|m| m.kind == MethodKind::Password)
        .cloned()
        .unwrap()
}

/// Alice signs in with her password alone (her organisation asks no more), tries to add her
/// phone and is asked to confirm it's you; she types her password again and the code emailed to
/// her, and the new session enrolls the phone up to its test approval.
#[tokio::test]
async fn a_password_only_session_must_step_up_before_enrolling_an_authenticator() {
    let tls = start_tls_server().await;
    let world = &tls.world;
    let app = tls.app("alice-laptop");
    let weak = password_only(&app, ALICE).await;

    // every security change is refused with the step-up error, before anything is created
    assert_eq!(weak.add_authenticator().await.unwrap_err(), STEP_UP);
    assert_eq!(weak.add_totp().await.unwrap_err(), STEP_UP);
    assert_eq!(weak.regenerate_backup_codes().await.unwrap_err(), STEP_UP);
    assert_eq!(
        STEP_UP.to_string(),
        "confirm it's you: this change needs a sign-in with a second factor in the last 600 s"
    );
    // reading is still fine
    assert_eq!(weak.user_info().await.unwrap().email, ALICE.0);

    // "Confirm it's you": the same sign-in screens, for Alice only
    let flow = weak.step_up().await.unwrap();
    assert!(flow.is_step_up().await);
    let methods = flow.state();
    let SignInState::ChooseMethod { identifier, .. } = &methods else {
        panic!("{methods:?}")
    };
    assert_eq!(identifier, ALICE.0);
    flow.choose_method(&password(&methods)).await.unwrap();
    // the password is no longer enough: "confirm it's you" with the code emailed to her
    let state = flow.submit_password(ALICE.1).await.unwrap();
    let SignInState::EnterCode {
        purpose, channel, ..
    } = &state
    else {
        panic!("expected the email code after the password, got {state:?}")
    };
    assert_eq!(
        (*purpose, *channel),
        (CodePurpose::VerifyDevice, CodeChannel::Email)
    );
    let code = world.last_code(ALICE.0).await;
    let SignInState::Done { session: strong } = flow.submit_code(&code).await.unwrap() else {
        panic!("not signed in")
    };

    // the fresh session replaces the old one, in the store and on the server
    assert_ne!(strong.session_id(), weak.session_id());
    assert_eq!(
        weak.state(),
        SessionState::Ended {
            reason: EndReason::Replaced
        }
    );
    assert_eq!(
        weak.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    assert_eq!(
        app.saved_session().unwrap().unwrap().session_id(),
        strong.session_id()
    );

    // the stepped-up session enrolls her phone: QR code, activation, test approval
    let phone = tls.phone("Alice's Pixel", true, Arc::default());
    let enrollment = strong.add_authenticator().await.unwrap();
    assert_eq!(format!("{:?}", enrollment.activation_code), "<redacted>");
    assert!(enrollment
        .qr_payload
        .expose()
        .starts_with("authcore://enroll?v=1&url="));
    let Added::Push(account) = phone
        .add_from_qr(enrollment.qr_payload.expose())
        .await
        .unwrap()
    else {
        panic!("not a push account")
    };
    let status = strong
        .authenticator_enrollment(
            &enrollment.enrollment_id,
            &EnrollmentStatus::WaitingForDevice,
            5,
        )
        .await
        .unwrap();
    let EnrollmentStatus::ApproveTest { number, .. } = &status else {
        panic!("expected the test approval, got {status:?}")
    };
    let mut tests = phone.pending_approvals(5).await.unwrap();
    assert_eq!(tests.len(), 1);
    let test = tests.remove(0);
    assert_eq!(test.kind, ApprovalKind::Test);
    phone.approve(&test.id, number).await.unwrap();
    assert_eq!(
        strong
            .authenticator_enrollment(&enrollment.enrollment_id, &status, 5)
            .await
            .unwrap(),
        EnrollmentStatus::Completed {
            device_id: account.device_id.clone()
        }
    );
    let devices = strong.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].display_name, "Alice's Pixel");

    // the change is in her security activity and in the sign-in history
    let events = strong.security_events().await.unwrap();
    let added = events
        .iter()
        .find(|e| e.kind == "authenticator_added")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(added.detail, "Alice's Pixel");
    assert!(strong
        .sign_in_history()
        .await
        .unwrap()
        .iter()
        .any(|r| r.kind == "security_event" && r.method == "authenticator_added"));
    tls.world.stop().await;
}

/// Removing TOTP and changing the password are security changes too: refused for the old
/// sign-in, done after the step-up, and both listed in the security activity.
#[tokio::test]
async fn totp_removal_and_a_password_change_need_a_step_up() {
    let world = start_server().await;
    let app = world.app("bob-phone");
    let flow = app.sign_in();
    let methods = flow.start(BOB.0).await.unwrap();
    flow.choose_method(&password(&methods)).await.unwrap();
    flow.submit_password(BOB.1).await.unwrap();
    flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    let SignInState::Done { session: old } = flow
        .submit_code(&totp_at(BOB_TOTP, world.now()))
        .await
        .unwrap()
    else {
        panic!("not signed in")
    };
    world.server.clock().advance(601);
    assert_eq!(old.remove_totp().await.unwrap_err(), STEP_UP);
    assert_eq!(
        old.change_password(BOB.1, "bob-new-password-2")
            .await
            .unwrap_err(),
        STEP_UP
    );

    let fresh = step_up(&world, &old, BOB, Some(BOB_TOTP)).await;
    assert_eq!(
        fresh
            .change_password("not-bobs-password", "bob-new-password-2")
            .await
            .unwrap_err(),
        ClientError::WrongCredential {
            attempts_left: Some(9)
        }
    );
    // no other session ended: the step-up already revoked the one it replaced
    assert_eq!(
        fresh
            .change_password(BOB.1, "bob-new-password-2")
            .await
            .unwrap(),
        0
    );
    fresh.remove_totp().await.unwrap();
    let kinds: Vec<String> = fresh
        .security_events()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds[..2],
        ["totp_removed", "password_changed"],
        "{kinds:?}"
    );
    world.stop().await;
}

/// Bob always signs in with his authenticator code, but ten minutes later that sign-in is too old
/// to bind a second authenticator: the step-up asks for his password and a fresh TOTP code.
#[tokio::test]
async fn an_old_sign_in_with_totp_must_step_up_with_totp_again() {
    let world = start_server().await;
    let app = world.app("bob-phone");
    let flow = app.sign_in();
    let methods = flow.start(BOB.0).await.unwrap();
    flow.choose_method(&password(&methods)).await.unwrap();
    flow.submit_password(BOB.1).await.unwrap();
    flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    let SignInState::Done { session: old } = flow
        .submit_code(&totp_at(BOB_TOTP, world.now()))
        .await
        .unwrap()
    else {
        panic!("not signed in")
    };

    world.server.clock().advance(601);
    assert_eq!(old.add_authenticator().await.unwrap_err(), STEP_UP);

    let flow = old.step_up().await.unwrap();
    flow.choose_method(&password(&flow.state())).await.unwrap();
    let state = flow.submit_password(BOB.1).await.unwrap();
    assert!(
        matches!(state, SignInState::ChooseSecondFactor { .. }),
        "{state:?}"
    );
    flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    let SignInState::Done { session: fresh } = flow
        .submit_code(&totp_at(BOB_TOTP, world.now()))
        .await
        .unwrap()
    else {
        panic!("not signed in")
    };
    let enrollment = fresh.add_authenticator().await.unwrap();
    assert!(enrollment
        .qr_payload
        .expose()
        .starts_with("authcore://enroll?v=1&url="));
    assert_eq!(
        fresh
            .authenticator_enrollment(
                &enrollment.enrollment_id,
                &EnrollmentStatus::WaitingForDevice,
                0
            )
            .await
            .unwrap(),
        EnrollmentStatus::WaitingForDevice
    );
    world.stop().await;
}

/// The step-up flow signs in the signed-in user only; another identifier is refused before any
/// request, and the flow stays usable for the right one.
#[tokio::test]
async fn the_step_up_sign_in_is_for_the_signed_in_user_only() {
    let world = start_server().await;
    let app = world.app("alice-phone");
    let weak = password_only(&app, ALICE).await;
    let flow = weak.step_up().await.unwrap();
    flow.cancel().await;
    assert_eq!(
        flow.start(BOB.0).await.unwrap_err(),
        ClientError::InvalidInput {
            what: "to confirm it's you, sign in with the account that is signed in".into()
        }
    );
    assert_eq!(flow.state(), SignInState::EnterIdentifier);
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&password(&methods)).await.unwrap();
    assert!(matches!(
        flow.submit_password(ALICE.1).await.unwrap(),
        SignInState::EnterCode { .. }
    ));
    // an ordinary sign-in on the same app still takes the password alone
    assert!(matches!(
        app.sign_in().start(ALICE.0).await.unwrap(),
        SignInState::ChooseMethod { .. }
    ));
    world.stop().await;
}

/// Enrolls `phone` from `session` up to the test approval the phone answers: the device id.
async fn enroll_phone(session: &Session, phone: &authcore::authenticator::Authenticator) -> String {
    let enrollment = session.add_authenticator().await.unwrap();
    let Added::Push(account) = phone
        .add_from_qr(enrollment.qr_payload.expose())
        .await
        .unwrap()
    else {
        panic!("not a push account")
    };
    let status = session
        .authenticator_enrollment(
            &enrollment.enrollment_id,
            &EnrollmentStatus::WaitingForDevice,
            5,
        )
        .await
        .unwrap();
    let EnrollmentStatus::ApproveTest { number, .. } = &status else {
        panic!("expected the test approval, got {status:?}")
    };
    let mut tests = phone.pending_approvals(5).await.unwrap();
    assert_eq!(tests.len(), 1);
    phone.approve(&tests.remove(0).id, number).await.unwrap();
    assert_eq!(
        session
            .authenticator_enrollment(&enrollment.enrollment_id, &status, 5)
            .await
            .unwrap(),
        EnrollmentStatus::Completed {
            device_id: account.device_id.clone()
        }
    );
    account.device_id
}

/// A second authenticator: Alice is signed in with her password alone on her laptop and her
/// tablet. The laptop steps up with the emailed code and binds her first phone; from then on the
/// emailed code no longer confirms it's her, so the tablet's step-up is approved on that phone
/// ("enter 42 on your phone") before it binds the second one.
#[tokio::test]
async fn a_second_authenticator_needs_a_step_up_approved_on_the_first() {
    let tls = start_tls_server().await;
    let laptop = password_only(&tls.app("alice-laptop"), ALICE).await;
    let tablet = password_only(&tls.app("alice-tablet"), ALICE).await;
    let first_phone = tls.phone("Alice's Pixel", true, Arc::default());
    let second_phone = tls.phone("Alice's iPad", true, Arc::default());

    assert_eq!(laptop.add_authenticator().await.unwrap_err(), STEP_UP);
    let laptop = step_up(&tls.world, &laptop, ALICE, None).await;
    enroll_phone(&laptop, &first_phone).await;

    assert_eq!(tablet.add_authenticator().await.unwrap_err(), STEP_UP);
    let flow = tablet.step_up().await.unwrap();
    flow.choose_method(&password(&flow.state())).await.unwrap();
    let state = flow.submit_password(ALICE.1).await.unwrap();
    let SignInState::ApprovePush { number, .. } = &state else {
        panic!("expected the push to her first phone, got {state:?}")
    };
    let mut requests = first_phone.pending_approvals(5).await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].kind, ApprovalKind::SignIn);
    first_phone
        .approve(&requests.remove(0).id, number)
        .await
        .unwrap();
    let SignInState::Done { session: tablet } = flow.wait_for_phone().await.unwrap() else {
        panic!("not signed in")
    };
    enroll_phone(&tablet, &second_phone).await;
    let mut names: Vec<String> = tablet
        .devices()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.display_name)
        .collect();
    names.sort();
    assert_eq!(names, ["Alice's Pixel", "Alice's iPad"]);
    tls.world.stop().await;
}

/// After a suspected takeover: "log out everywhere" names the phone added minutes ago; a password
/// reset suspends it; from a new sign-in the user confirms it only after stepping up (with the
/// emailed code: a suspended phone is no second factor).
#[tokio::test]
async fn a_phone_suspended_by_a_reset_is_confirmed_from_a_stepped_up_session() {
    let tls = start_tls_server().await;
    let world = &tls.world;
    let app = tls.app("alice-laptop");
    let phone = tls.phone("Alice's Pixel", true, Arc::default());
    let strong = step_up(world, &password_only(&app, ALICE).await, ALICE, None).await;
    let device_id = enroll_phone(&strong, &phone).await;

    let review = strong.logout_everywhere_and_review().await.unwrap();
    assert!(review.revoked_sessions >= 1);
    let recent: Vec<&str> = review
        .recent_devices
        .iter()
        .map(|d| d.device_id.as_str())
        .collect();
    assert_eq!(recent, [device_id.as_str()]);
    assert_eq!(review.recent_devices[0].display_name, "Alice's Pixel");

    // "Forgot password?": the reset suspends the phone added in the last 7 days
    let flow = app.sign_in();
    flow.forgot_password(ALICE.0).await.unwrap();
    flow.submit_code(&world.last_code(ALICE.0).await)
        .await
        .unwrap();
    const NEW_PASSWORD: &str = "alice-new-password-1";
    flow.choose_new_password(NEW_PASSWORD).await.unwrap();
    let mut state = flow.submit_password(NEW_PASSWORD).await.unwrap();
    if let SignInState::EnterCode { .. } = state {
        state = flow
            .submit_code(&world.last_code(ALICE.0).await)
            .await
            .unwrap();
    }
    let SignInState::Done { session } = state else {
        panic!("a suspended phone is not asked: {state:?}")
    };
    assert_eq!(session.devices().await.unwrap()[0].state, "suspended");

    // confirming it is a security change: only after "confirm it's you"
    assert_eq!(
        session.confirm_device(&device_id).await.unwrap_err(),
        STEP_UP
    );
    let stepped_up = step_up(world, &session, (ALICE.0, NEW_PASSWORD), None).await;
    let device = stepped_up.confirm_device(&device_id).await.unwrap();
    assert_eq!(device.state, "active");
    assert!(stepped_up
        .security_events()
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "factor_confirmed"));
    tls.world.stop().await;
}
