//! Sign-in scenarios: the core's `SignIn` state machine against the reference server, one per
//! method and policy of demo.toml. Each reads like the screens the user sees.

use std::sync::{Arc, Mutex};

use authcore::signin::{
    CodeChannel, CodePurpose, MethodKind, SecondFactor, SignInListener, SignInMethod, SignInState,
};
use authcore::{ClientError, Timestamp};
use authcore_e2e::*;

fn method(state: &SignInState, kind: MethodKind) -> SignInMethod {
    let SignInState::ChooseMethod { methods, .. } = state else {
        panic!("expected the method list, got {state:?}");
    };
    methods
        .iter()
        .find(|m| m.kind == kind)
        .cloned()
        .unwrap_or_else(|| panic!("{kind:?} is not offered: {methods:?}"))
}

fn session_of(state: SignInState) -> authcore::session::Session {
    match state {
        SignInState::Done { session } => session,
        other => panic!("expected to be signed in, got {other:?}"),
    }
}

#[derive(Default)]
struct Screens(Mutex<Vec<SignInState>>);

impl SignInListener for Screens {
    fn on_state_changed(&self, state: SignInState) {
        self.0.lock().unwrap().push(state);
    }
}

#[tokio::test]
async fn acme_user_signs_in_with_a_password() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let screens = Arc::new(Screens::default());
    flow.set_listener(Some(screens.clone()));
    assert_eq!(flow.state(), SignInState::EnterIdentifier);

    // types her email -> sees "Password" and "Email a code to a***@acme.example"
    let methods = flow.start("alice@acme.example").await.unwrap();
    let SignInState::ChooseMethod {
        identifier,
        organization,
        methods: list,
    } = &methods
    else {
        panic!("{methods:?}")
    };
    assert_eq!(identifier, "alice@acme.example");
    assert_eq!(organization.as_deref(), Some("Acme"));
    let names: Vec<&str> = list.iter().map(|m| m.display_name.as_str()).collect();
    assert_eq!(names, ["Password", "Email a code to a***@acme.example"]);

    // taps Password -> types it -> signed in
    let state = flow
        .choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    assert_eq!(
        state,
        SignInState::EnterPassword {
            identifier: "alice@acme.example".into()
        }
    );
    let session = session_of(flow.submit_password(ALICE.1).await.unwrap());
    assert_eq!(session.user_info().await.unwrap().email, ALICE.0);

    let seen: Vec<&'static str> = screens
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|s| match s {
            SignInState::ChooseMethod { .. } => "methods",
            SignInState::EnterPassword { .. } => "password",
            SignInState::Done { .. } => "done",
            _ => "other",
        })
        .collect();
    assert_eq!(seen, ["methods", "password", "done"]);
    world.stop().await;
}

#[tokio::test]
async fn acme_user_signs_in_with_a_code_instead_of_a_password() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();

    // taps "Email a code" -> "Enter the code sent to a***@acme.example"
    let state = flow
        .choose_method(&method(&methods, MethodKind::EmailCode))
        .await
        .unwrap();
    let SignInState::EnterCode {
        purpose,
        channel,
        destination_hint,
        length,
        expires_at,
        resend_after,
    } = state
    else {
        panic!("{state:?}")
    };
    assert_eq!(purpose, CodePurpose::SignIn);
    assert_eq!(channel, CodeChannel::Email);
    assert_eq!(destination_hint, "a***@acme.example");
    assert_eq!(length, 6);
    assert_eq!(expires_at, Timestamp::from_unix_seconds(world.now() + 600));
    assert_eq!(resend_after, 30);

    // a wrong code keeps her on the same screen with the attempts left
    let code = world.last_code(ALICE.0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        flow.submit_code(wrong).await.unwrap_err(),
        ClientError::WrongCredential {
            attempts_left: Some(4)
        }
    );
    assert!(matches!(flow.state(), SignInState::EnterCode { .. }));
    // a code of the wrong shape never leaves the phone
    assert_eq!(
        flow.submit_code("12345").await.unwrap_err(),
        ClientError::InvalidInput {
            what: "the code is 6 digits".into()
        }
    );

    session_of(flow.submit_code(&code).await.unwrap());
    world.stop().await;
}

#[tokio::test]
async fn a_phone_number_signs_in_with_an_sms_code() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start("+1 555 555 0101").await.unwrap();
    let sms = method(&methods, MethodKind::SmsCode);
    assert_eq!(sms.display_name, "Text a code to +*******0101");

    let state = flow.choose_method(&sms).await.unwrap();
    assert!(
        matches!(
            state,
            SignInState::EnterCode {
                channel: CodeChannel::Sms,
                purpose: CodePurpose::SignIn,
                ..
            }
        ),
        "{state:?}"
    );
    let code = world.last_code(ALICE_PHONE).await;
    let session = session_of(flow.submit_code(&code).await.unwrap());
    assert_eq!(session.user_info().await.unwrap().email, ALICE.0);
    world.stop().await;
}

#[tokio::test]
async fn resend_waits_for_the_countdown_then_sends_a_new_code() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::EmailCode))
        .await
        .unwrap();
    let first = world.last_code(ALICE.0).await;

    assert_eq!(
        flow.resend_code().await.unwrap_err(),
        ClientError::RateLimited {
            retry_after: 30,
            limit: Some(authcore::error::RateLimit {
                kind: authcore::error::RateLimitKind::CodeResend,
                count: 1,
                window_s: 30,
            }),
        }
    );
    assert_eq!(
        flow.resend_code().await.unwrap_err().to_string(),
        "a new code can be sent in 30 s"
    );
    world.server.clock().advance(31);
    let state = flow.resend_code().await.unwrap();
    assert!(
        matches!(
            state,
            SignInState::EnterCode {
                resend_after: 30,
                ..
            }
        ),
        "{state:?}"
    );
    assert_eq!(world.message_count(ALICE.0).await, 2);
    let second = world.last_code(ALICE.0).await;
    if first != second {
        assert!(flow.submit_code(&first).await.is_err(), "the old code died");
    }
    session_of(flow.submit_code(&second).await.unwrap());
    world.stop().await;
}

#[tokio::test]
async fn bob_needs_his_authenticator_code_and_a_replayed_code_is_refused() {
    let world = start_server().await;
    let app = world.app("bob-phone");

    let flow = app.sign_in();
    let methods = flow.start(BOB.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    let state = flow.submit_password(BOB.1).await.unwrap();
    let SignInState::ChooseSecondFactor { options } = &state else {
        panic!("{state:?}")
    };
    let names: Vec<&str> = options.iter().map(|o| o.display_name.as_str()).collect();
    assert_eq!(names, ["Authenticator app code", "Backup code"]);

    let state = flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    assert_eq!(state, SignInState::EnterTotp { length: 6 });
    // back to the choice and forward again
    assert!(matches!(
        flow.back().await.unwrap(),
        SignInState::ChooseSecondFactor { .. }
    ));
    flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    let code = totp_at(BOB_TOTP, world.now());
    session_of(flow.submit_code(&code).await.unwrap());

    // the same code again, on a second sign-in: refused, still on the TOTP screen
    let again = app.sign_in();
    let methods = again.start(BOB.0).await.unwrap();
    again
        .choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    again.submit_password(BOB.1).await.unwrap();
    again
        .choose_second_factor(SecondFactor::Totp)
        .await
        .unwrap();
    assert!(matches!(
        again.submit_code(&code).await.unwrap_err(),
        ClientError::WrongCredential { .. }
    ));
    assert_eq!(again.state(), SignInState::EnterTotp { length: 6 });
    world.stop().await;
}

#[tokio::test]
async fn a_backup_code_works_once() {
    let world = start_server().await;
    let app = world.app("bob-phone");
    let sign_in_until_backup = || async {
        let flow = app.sign_in();
        let methods = flow.start(BOB.0).await.unwrap();
        flow.choose_method(&method(&methods, MethodKind::Password))
            .await
            .unwrap();
        flow.submit_password(BOB.1).await.unwrap();
        let state = flow
            .choose_second_factor(SecondFactor::BackupCode)
            .await
            .unwrap();
        (flow, state)
    };

    let (flow, state) = sign_in_until_backup().await;
    assert_eq!(state, SignInState::EnterBackupCode { remaining: 2 });
    session_of(flow.submit_code("BOB0 0001").await.unwrap());

    let (flow, state) = sign_in_until_backup().await;
    assert_eq!(state, SignInState::EnterBackupCode { remaining: 1 });
    assert!(matches!(
        flow.submit_code("bob0-0001").await.unwrap_err(),
        ClientError::WrongCredential { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn a_wrong_password_keeps_the_user_on_the_password_screen_until_locked() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    for left in (1..=9).rev() {
        assert_eq!(
            flow.submit_password("not-her-password").await.unwrap_err(),
            ClientError::WrongCredential {
                attempts_left: Some(left)
            }
        );
        assert!(matches!(flow.state(), SignInState::EnterPassword { .. }));
    }
    assert_eq!(
        flow.submit_password("not-her-password").await.unwrap_err(),
        ClientError::Locked { retry_after: 900 }
    );
    // locked even with the right password
    assert!(matches!(
        flow.submit_password(ALICE.1).await.unwrap_err(),
        ClientError::Locked { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn back_walks_to_the_method_list_then_to_the_email_field() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::EmailCode))
        .await
        .unwrap();
    assert_eq!(flow.back().await.unwrap(), methods);
    // then the password instead: the same sign-in continues
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    assert_eq!(flow.back().await.unwrap(), methods);
    assert_eq!(flow.back().await.unwrap(), SignInState::EnterIdentifier);
    assert_eq!(
        flow.submit_password(ALICE.1).await.unwrap_err(),
        ClientError::InvalidAction {
            action: "submit_password",
            state: "EnterIdentifier"
        }
    );
    assert_eq!(
        flow.start("  ").await.unwrap_err(),
        ClientError::InvalidInput {
            what: "enter your email address or phone number".into()
        }
    );
    world.stop().await;
}

#[tokio::test]
async fn a_sign_in_left_too_long_must_start_again() {
    let world = start_server().await;
    let flow = world.app("alice-phone").sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::EmailCode))
        .await
        .unwrap();
    let code = world.last_code(ALICE.0).await;
    world.server.clock().advance(16 * 60);
    assert_eq!(
        flow.submit_code(&code).await.unwrap_err(),
        ClientError::SignInExpired
    );
    assert_eq!(
        flow.state(),
        SignInState::Failed {
            reason: ClientError::SignInExpired
        }
    );
    // and starting again works
    assert!(matches!(
        flow.start(ALICE.0).await.unwrap(),
        SignInState::ChooseMethod { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn forgot_password_resets_it_and_ends_every_session() {
    let world = start_server().await;
    let app = world.app("alice-phone");
    let flow = app.sign_in();
    let methods = flow.start(ALICE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    let old_session = session_of(flow.submit_password(ALICE.1).await.unwrap());

    let flow = app.sign_in();
    flow.start(ALICE.0).await.unwrap();
    let state = flow.forgot_password(ALICE.0).await.unwrap();
    assert!(
        matches!(
            &state,
            SignInState::EnterCode { purpose: CodePurpose::PasswordReset, destination_hint, length: 6, .. }
                if destination_hint == "a***@acme.example"
        ),
        "{state:?}"
    );
    let code = world.last_code(ALICE.0).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // a wrong code is found out when the new password is sent: back to the code screen
    flow.submit_code(wrong).await.unwrap();
    assert_eq!(
        flow.choose_new_password("a-new-password-1")
            .await
            .unwrap_err(),
        ClientError::WrongCredential {
            attempts_left: Some(4)
        }
    );
    assert!(matches!(flow.state(), SignInState::EnterCode { .. }));

    // the right code, a too-short password, then a good one
    let state = flow.submit_code(&code).await.unwrap();
    assert_eq!(
        state,
        SignInState::ChooseNewPassword {
            identifier: ALICE.0.into()
        }
    );
    assert!(matches!(
        flow.choose_new_password("short").await.unwrap_err(),
        ClientError::WeakPassword { .. }
    ));
    let state = flow.choose_new_password("a-new-password-1").await.unwrap();
    assert_eq!(
        state,
        SignInState::EnterPassword {
            identifier: ALICE.0.into()
        }
    );
    session_of(flow.submit_password("a-new-password-1").await.unwrap());

    // the session from before the reset has ended
    assert_eq!(
        old_session.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    assert!(matches!(
        old_session.state(),
        authcore::session::SessionState::Ended { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn globex_signs_in_on_its_own_host_verifies_a_new_device_then_asks_for_totp() {
    let tls = start_tls_server().await;
    let app = tls.app("carol-laptop");
    let flow = app.sign_in();
    let screens = Arc::new(Screens::default());
    flow.set_listener(Some(screens.clone()));

    // types her email -> "Globex signs in at login.globex.example" -> Password / Globex SSO
    let methods = flow.start(CAROL.0).await.unwrap();
    assert_eq!(
        screens.0.lock().unwrap()[0],
        SignInState::UseSignInHost {
            host: tls.globex_host()
        }
    );
    assert_eq!(
        flow.server_url().await,
        format!("https://{}", tls.globex_host())
    );
    let SignInState::ChooseMethod { methods: list, .. } = &methods else {
        panic!("{methods:?}")
    };
    let kinds: Vec<MethodKind> = list.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [MethodKind::Password, MethodKind::Sso, MethodKind::Push]
    );

    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    // new device -> "Confirm it's you": a code by email
    let state = flow.submit_password(CAROL.1).await.unwrap();
    assert!(
        matches!(
            &state,
            SignInState::EnterCode { purpose: CodePurpose::VerifyDevice, channel: CodeChannel::Email, destination_hint, .. }
                if destination_hint == "c***@globex.example"
        ),
        "{state:?}"
    );
    let code = tls.world.last_code(CAROL.0).await;
    let state = flow.submit_code(&code).await.unwrap();
    assert!(matches!(state, SignInState::ChooseSecondFactor { .. }));
    flow.choose_second_factor(SecondFactor::Totp).await.unwrap();
    // Globex requires an authenticator app: "Protect your account", Skip for now (3 times left)
    let state = flow
        .submit_code(&totp_at(CAROL_TOTP, tls.world.now()))
        .await
        .unwrap();
    assert_eq!(
        state,
        SignInState::EnrollAuthenticator {
            skips_left: 3,
            mandatory: false
        }
    );
    let session = session_of(flow.skip_enrollment().await.unwrap());
    assert_eq!(session.server(), format!("https://{}", tls.globex_host()));

    // the next sign-in from this device is recognised: straight to the second factor
    let flow = app.sign_in();
    let methods = flow.start(CAROL.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    let state = flow.submit_password(CAROL.1).await.unwrap();
    assert!(
        matches!(state, SignInState::ChooseSecondFactor { .. }),
        "{state:?}"
    );

    // the history shows the identity verification and the sign-in
    let history = session.sign_in_history().await.unwrap();
    let kinds: Vec<(&str, &str)> = history
        .iter()
        .map(|h| (h.kind.as_str(), h.result.as_str()))
        .collect();
    assert!(
        kinds.contains(&("identity_verification", "success")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("sign_in", "success")), "{kinds:?}");
    tls.world.stop().await;
}

#[tokio::test]
async fn globex_without_a_second_factor_uses_the_email_check_and_sso_opens_the_browser() {
    let tls = start_tls_server().await;
    let app = tls.app("dave-laptop");
    let flow = app.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    let state = flow.submit_password(DAVE.1).await.unwrap();
    assert!(matches!(
        state,
        SignInState::EnterCode {
            purpose: CodePurpose::VerifyDevice,
            ..
        }
    ));
    let code = tls.world.last_code(DAVE.0).await;
    assert!(matches!(
        flow.submit_code(&code).await.unwrap(),
        SignInState::EnrollAuthenticator { .. }
    ));
    session_of(flow.skip_enrollment().await.unwrap());

    let flow = app.sign_in();
    let methods = flow.start(DAVE.0).await.unwrap();
    let sso = method(&methods, MethodKind::Sso);
    let state = flow.choose_method(&sso).await.unwrap();
    assert_eq!(
        state,
        SignInState::OpenBrowser {
            method: sso,
            url: None
        }
    );
    tls.world.stop().await;
}

#[tokio::test]
async fn a_domain_without_an_organisation_offers_google_in_the_browser() {
    let world = start_server().await;
    let flow = world.app("someone").sign_in();
    let methods = flow.start("someone@example.org").await.unwrap();
    let SignInState::ChooseMethod {
        organization,
        methods: list,
        ..
    } = &methods
    else {
        panic!("{methods:?}")
    };
    assert_eq!(organization, &None);
    let names: Vec<&str> = list.iter().map(|m| m.display_name.as_str()).collect();
    assert_eq!(
        names,
        ["Password", "Email a code to s***@example.org", "Google"]
    );
    let google = method(&methods, MethodKind::Federated);
    assert_eq!(google.provider.as_deref(), Some("google"));
    assert_eq!(
        flow.choose_method(&google).await.unwrap(),
        SignInState::OpenBrowser {
            method: google,
            url: None
        }
    );
    // an unknown account walks the same screens: the password is simply wrong
    flow.back().await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    assert!(matches!(
        flow.submit_password("whatever-password").await.unwrap_err(),
        ClientError::WrongCredential { .. }
    ));
    world.stop().await;
}

#[tokio::test]
async fn erin_verifies_her_identity_with_a_text_to_her_masked_number() {
    const ERIN: (&str, &str) = ("erin@acme.example", "erin-demo-password");
    const ERIN_PHONE: &str = "+15555550163";
    let toml = format!(
        "{}\n[[dev_users]]\nemail = \"{}\"\nname = \"Erin Acme\"\npassword = \"{}\"\nphone = \"{ERIN_PHONE}\"\nphone_verified = true\ntotp_secret = \"{BOB_TOTP}\"\n",
        demo_toml(),
        ERIN.0,
        ERIN.1
    );
    let world = start(authcore_server::ServerOptions::new(
        test_config_from(&toml),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await;
    let app = world.app("erin-phone");

    let flow = app.sign_in();
    let methods = flow.start(ERIN.0).await.unwrap();
    flow.choose_method(&method(&methods, MethodKind::Password))
        .await
        .unwrap();
    // "Verify your identity": the authenticator app, a text or a call to the masked number.
    let state = flow.submit_password(ERIN.1).await.unwrap();
    let SignInState::ChooseSecondFactor { options } = &state else {
        panic!("{state:?}")
    };
    let names: Vec<&str> = options.iter().map(|o| o.display_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Authenticator app code",
            "Text a code to +X XXX-XXX-XX63",
            "Call +X XXX-XXX-XX63"
        ]
    );
    let state = flow.choose_second_factor(SecondFactor::Sms).await.unwrap();
    let SignInState::EnterCode {
        purpose,
        channel,
        destination_hint,
        length,
        ..
    } = &state
    else {
        panic!("{state:?}")
    };
    assert_eq!(
        (*purpose, *channel, destination_hint.as_str(), *length),
        (CodePurpose::SignIn, CodeChannel::Sms, "+X XXX-XXX-XX63", 6)
    );
    // "Resend code" after the countdown sends a new text (the `sms` factor again).
    world.server.clock().advance(30);
    flow.resend_code().await.unwrap();
    let texts = world.messages(ERIN_PHONE).await;
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|m| m["channel"] == "sms"), "{texts:?}");
    let code = world.last_code(ERIN_PHONE).await;
    let session = session_of(flow.submit_code(&code).await.unwrap());
    assert!(!session.session_id().is_empty());
    world.stop().await;
}
