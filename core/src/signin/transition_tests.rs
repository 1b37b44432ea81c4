//! The transition function without a server: every `next.type`, every refusal, the step-up
//! flow, password recovery.

use authcore_protocol::signin::Next;
use serde_json::{json, Value};

use super::*;
use crate::signin::state::{SecondFactor, SecondFactorOption, Sensitive};
use crate::timestamp::Timestamp;

const ALICE: &str = "alice@acme.example";

fn step(next: Value) -> Answer {
    answer(next, true)
}

/// `next` as the transport reads it into the protocol's step (a `next` that is no step at all,
/// without a `type`, is refused with the whole answer: it never reaches the transition).
fn answer(next: Value, credential: bool) -> Answer {
    Answer::Challenge {
        reply: Ok(Challenge::Next {
            auth_session: "as-1".into(),
            next: serde_json::from_value::<Next>(next).unwrap(),
        }),
        chosen: None,
        credential,
    }
}

fn refused(error: ClientError, auth_session: Option<&str>) -> Answer {
    Answer::Challenge {
        reply: Err(Refusal {
            error,
            auth_session: auth_session.map(str::to_owned),
        }),
        chosen: None,
        credential: true,
    }
}

fn moved(state: SignInState, back: Back) -> Transition {
    Transition::Move {
        state,
        auth_session: Some("as-1".into()),
        back,
    }
}

fn password() -> SignInState {
    SignInState::EnterPassword {
        identifier: ALICE.into(),
    }
}

fn code(purpose: CodePurpose, channel: CodeChannel) -> SignInState {
    SignInState::EnterCode {
        purpose,
        channel,
        destination_hint: "a***@acme.example".into(),
        length: 6,
        expires_at: Timestamp::from_unix_seconds(1_000),
        resend_after: 30,
    }
}

fn code_step(kind: &str, channel: &str) -> Value {
    json!({"type": kind, "channel": channel, "destination_hint": "a***@acme.example",
           "length": 6, "expires_at": 1_000, "resend_after": 30})
}

fn activation(expires_at: u64) -> SignInState {
    SignInState::ActivateAuthenticator {
        qr_payload: Sensitive::new("authcore://enroll?c=1".into()),
        activation_code: Sensitive::new("1234 5678".into()),
        server_url: "https://id.acme.example".into(),
        label: "alice@acme.example".into(),
        expires_at: Timestamp::from_unix_seconds(expires_at),
    }
}

#[test]
fn every_next_type_maps_to_its_screen() {
    let at = SignInState::EnterIdentifier;
    let cases = [
        (json!({"type": "password"}), password()),
        (
            code_step("email_code", "email"),
            code(CodePurpose::SignIn, CodeChannel::Email),
        ),
        (
            code_step("sms_code", "sms"),
            code(CodePurpose::SignIn, CodeChannel::Sms),
        ),
        (
            code_step("verify_device", "email"),
            code(CodePurpose::VerifyDevice, CodeChannel::Email),
        ),
        (
            json!({"type": "choose_second_factor", "factors": ["push", "totp", "backup_code", "webauthn"]}),
            SignInState::ChooseSecondFactor {
                options: vec![
                    SecondFactorOption {
                        kind: SecondFactor::Push,
                        display_name: "Approve a request on my phone".into(),
                    },
                    SecondFactorOption {
                        kind: SecondFactor::Totp,
                        display_name: "Authenticator app code".into(),
                    },
                    SecondFactorOption {
                        kind: SecondFactor::BackupCode,
                        display_name: "Backup code".into(),
                    },
                ],
            },
        ),
        (
            json!({"type": "totp", "length": 6}),
            SignInState::EnterTotp { length: 6 },
        ),
        (
            json!({"type": "backup_code", "remaining": 9}),
            SignInState::EnterBackupCode { remaining: 9 },
        ),
        (
            json!({"type": "push", "request_id": "1", "number": "42", "expires_at": 1_000, "interval": 2}),
            SignInState::ApprovePush {
                number: "42".into(),
                expires_at: Timestamp::from_unix_seconds(1_000),
            },
        ),
        (
            json!({"type": "approve_test_push", "request_id": "2", "number": "17", "expires_at": 1_000, "interval": 2}),
            SignInState::ApproveTestPush {
                number: "17".into(),
                expires_at: Timestamp::from_unix_seconds(1_000),
            },
        ),
        (
            json!({"type": "enroll_authenticator", "skips_left": 2, "mandatory": false}),
            SignInState::EnrollAuthenticator {
                skips_left: 2,
                mandatory: false,
            },
        ),
        (
            json!({"type": "activate_authenticator", "enrollment_id": "5", "qr_payload": "authcore://enroll?c=1",
                   "activation_code": "1234 5678", "server_url": "https://id.acme.example",
                   "label": "alice@acme.example", "expires_at": 1_000, "interval": 2}),
            activation(1_000),
        ),
    ];
    for (next_step, state) in cases {
        assert_eq!(
            next(&at, ALICE, answer(next_step.clone(), false)),
            moved(state, Back::Keep),
            "{next_step}"
        );
    }
}

#[test]
fn a_later_activation_answer_keeps_the_code_shown_once() {
    let later = json!({"type": "activate_authenticator", "enrollment_id": "5", "expires_at": 2_000, "interval": 2});
    assert_eq!(
        next(&activation(1_000), ALICE, answer(later.clone(), true)),
        moved(activation(2_000), Back::Keep)
    );
    // Without a code shown before, the step must carry it.
    assert!(matches!(
        next(&SignInState::EnterIdentifier, ALICE, answer(later, true)),
        Transition::Stay {
            error: ClientError::Protocol { .. },
            auth_session: Some(_)
        }
    ));
}

#[test]
fn a_step_the_app_cannot_show_stays_and_keeps_the_sign_in() {
    for bad in [
        json!({"type": "teleport"}),
        json!({"type": ""}),
        json!({"type": "totp"}),
        json!({"type": "email_code", "channel": "pigeon", "destination_hint": "x",
               "length": 6, "expires_at": 1, "resend_after": 0}),
        json!({"type": "choose_second_factor", "factors": ["webauthn"]}),
        json!({"type": "enroll_authenticator", "skips_left": 1}),
        json!({"type": "push", "expires_at": 1}),
    ] {
        let Transition::Stay {
            error: ClientError::Protocol { what },
            auth_session,
        } = next(&password(), ALICE, step(bad.clone()))
        else {
            panic!("{bad}: not a protocol error");
        };
        assert!(!what.is_empty(), "{bad}");
        assert_eq!(auth_session.as_deref(), Some("as-1"), "{bad}");
    }
}

#[test]
fn an_authorization_code_is_exchanged() {
    let code = Answer::Challenge {
        reply: Ok(Challenge::Code(Zeroizing::new("ac-1".into()))),
        chosen: None,
        credential: true,
    };
    assert_eq!(
        next(&password(), ALICE, code),
        Transition::Exchange(Zeroizing::new("ac-1".into()))
    );
    assert_eq!(
        format!("{:?}", Transition::Exchange(Zeroizing::new("ac-1".into()))),
        "Exchange(<redacted>)"
    );
}

#[test]
fn every_refusal_stays_on_the_step_with_its_typed_error() {
    let errors = [
        ClientError::WrongCredential {
            attempts_left: Some(4),
        },
        ClientError::WrongCredential {
            attempts_left: None,
        },
        ClientError::Expired,
        ClientError::RateLimited {
            retry_after: 30,
            limit: None,
        },
        ClientError::Locked { retry_after: 900 },
        ClientError::PushDenied {
            fraud_reported: false,
        },
        ClientError::PushDenied {
            fraud_reported: true,
        },
        ClientError::NumberMismatch,
        ClientError::PushBlocked { retry_after: 3600 },
        ClientError::EnrollmentRequired,
        ClientError::WeakPassword {
            reason: "too short".into(),
        },
        ClientError::InvalidInput {
            what: "malformed".into(),
        },
        ClientError::InvalidClient,
        ClientError::Server { status: 503 },
    ];
    for error in errors {
        for kept in [None, Some("as-2")] {
            assert_eq!(
                next(&password(), ALICE, refused(error.clone(), kept)),
                Transition::Stay {
                    error: error.clone(),
                    auth_session: kept.map(str::to_owned),
                }
            );
        }
    }
}

#[test]
fn an_expired_sign_in_fails_the_flow() {
    for kept in [None, Some("as-2")] {
        assert_eq!(
            next(
                &password(),
                ALICE,
                refused(ClientError::SignInExpired, kept)
            ),
            Transition::Fail(ClientError::SignInExpired)
        );
    }
}

#[test]
fn a_browser_method_opens_the_browser() {
    let google = SignInMethod {
        kind: MethodKind::Federated,
        display_name: "Google".into(),
        destination_hint: None,
        provider: Some("google".into()),
    };
    let redirect = |chosen: Option<SignInMethod>, method: &str| Answer::Challenge {
        reply: Ok(Challenge::RedirectToWeb {
            method: method.into(),
            provider: "globex-okta".into(),
        }),
        chosen,
        credential: false,
    };
    let browser = |method| Transition::Move {
        state: SignInState::OpenBrowser { method, url: None },
        auth_session: None,
        back: Back::Keep,
    };
    let unnamed = |kind| SignInMethod {
        kind,
        display_name: "globex-okta".into(),
        destination_hint: None,
        provider: Some("globex-okta".into()),
    };
    assert_eq!(
        next(
            &password(),
            ALICE,
            redirect(Some(google.clone()), "federated")
        ),
        browser(google)
    );
    assert_eq!(
        next(&password(), ALICE, redirect(None, "sso")),
        browser(unnamed(MethodKind::Sso))
    );
    assert_eq!(
        next(&password(), ALICE, redirect(None, "federated")),
        browser(unnamed(MethodKind::Federated))
    );
}

#[test]
fn an_accepted_credential_forgets_earlier_choices_but_a_repeated_step_does_not() {
    let choose = json!({"type": "choose_second_factor", "factors": ["totp"]});
    assert!(matches!(
        next(&password(), ALICE, step(choose.clone())),
        Transition::Move {
            back: Back::ForgetChoices,
            ..
        }
    ));
    // The same answer to a request without a credential (a method chosen) keeps the way back.
    assert!(matches!(
        next(&password(), ALICE, answer(choose, false)),
        Transition::Move {
            back: Back::Keep,
            ..
        }
    ));
    // A push still pending answers the same step: nothing to forget.
    let push = SignInState::ApprovePush {
        number: "42".into(),
        expires_at: Timestamp::from_unix_seconds(1_000),
    };
    assert_eq!(
        next(
            &push,
            ALICE,
            step(
                json!({"type": "push", "request_id": "1", "number": "42", "expires_at": 1_000, "interval": 2})
            )
        ),
        moved(push.clone(), Back::Keep)
    );
}

#[test]
fn the_step_up_flow_asks_a_second_factor_after_the_password_then_ends_in_a_code() {
    // acr_values=mfa: the password is accepted, then a second factor is asked.
    let choose = next(
        &password(),
        ALICE,
        step(json!({"type": "choose_second_factor", "factors": ["totp", "backup_code"]})),
    );
    let Transition::Move {
        state: choosing @ SignInState::ChooseSecondFactor { .. },
        back: Back::ForgetChoices,
        ..
    } = choose
    else {
        panic!("not the second-factor choice: {choose:?}");
    };
    let totp = SignInState::EnterTotp { length: 6 };
    assert_eq!(
        next(
            &choosing,
            ALICE,
            answer(json!({"type": "totp", "length": 6}), false)
        ),
        moved(totp.clone(), Back::Keep)
    );
    let wrong = ClientError::WrongCredential {
        attempts_left: Some(2),
    };
    assert_eq!(
        next(&totp, ALICE, refused(wrong.clone(), Some("as-1"))),
        Transition::Stay {
            error: wrong,
            auth_session: Some("as-1".into()),
        }
    );
    // A user without a second factor confirms by an email code instead.
    assert_eq!(
        next(&password(), ALICE, step(code_step("email_code", "email"))),
        moved(
            code(CodePurpose::SignIn, CodeChannel::Email),
            Back::ForgetChoices
        )
    );
    let granted = Answer::Challenge {
        reply: Ok(Challenge::Code(Zeroizing::new("ac-2".into()))),
        chosen: None,
        credential: true,
    };
    assert!(matches!(
        next(&totp, ALICE, granted),
        Transition::Exchange(_)
    ));
}

#[test]
fn recovery_asks_for_the_emailed_code_then_the_new_password() {
    let sent = || Answer::ResetCodeSent {
        destination_hint: "a***@acme.example".into(),
        length: 6,
        expires_at: Timestamp::from_unix_seconds(1_000),
    };
    let reset_code = SignInState::EnterCode {
        purpose: CodePurpose::PasswordReset,
        channel: CodeChannel::Email,
        destination_hint: "a***@acme.example".into(),
        length: 6,
        expires_at: Timestamp::from_unix_seconds(1_000),
        resend_after: 0,
    };
    let shown = |back| Transition::Move {
        state: reset_code.clone(),
        auth_session: None,
        back,
    };
    assert_eq!(next(&password(), ALICE, sent()), shown(Back::Push));
    // "Resend code" replaces the code screen instead of stacking another.
    assert_eq!(next(&reset_code, ALICE, sent()), shown(Back::Keep));

    let new_password = SignInState::ChooseNewPassword {
        identifier: ALICE.into(),
    };
    assert_eq!(
        next(&new_password, ALICE, Answer::PasswordReset(Ok(()))),
        Transition::Restart(password())
    );
    for dead in [
        ClientError::WrongCredential {
            attempts_left: Some(2),
        },
        ClientError::Expired,
    ] {
        assert_eq!(
            next(
                &new_password,
                ALICE,
                Answer::PasswordReset(Err(dead.clone()))
            ),
            Transition::GoBack(dead)
        );
    }
    for other in [
        ClientError::WeakPassword {
            reason: "too short".into(),
        },
        ClientError::RateLimited {
            retry_after: 60,
            limit: None,
        },
        ClientError::Network { retryable: true },
    ] {
        assert_eq!(
            next(
                &new_password,
                ALICE,
                Answer::PasswordReset(Err(other.clone()))
            ),
            Transition::Stay {
                error: other,
                auth_session: None,
            }
        );
    }
}
