//! The step mapping: the server's `next` step and method list (docs/protocol.md) to the state a
//! screen shows, with its English copy. Pure: no I/O.

use serde_json::Value;

use super::state::{
    CodeChannel, CodePurpose, MethodKind, SecondFactor, SecondFactorOption, Sensitive,
    SignInMethod, SignInState,
};
use crate::api::LoginMethods;
use crate::error::ClientError;

/// The state a `next` step asks for. `current` is the state the answer came to (an activation
/// step repeats only the expiry of the code shown); `identifier` is the one being signed in.
pub(super) fn state_of(
    next: &Value,
    current: &SignInState,
    identifier: &str,
) -> Result<SignInState, ClientError> {
    let kind = next.get("type").and_then(Value::as_str).unwrap_or_default();
    let number = |name: &str| {
        next.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| ClientError::protocol(format!("step `{kind}` without `{name}`")))
    };
    let text = |name: &str| {
        next.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::protocol(format!("step `{kind}` without `{name}`")))
    };
    Ok(match kind {
        "password" => SignInState::EnterPassword {
            identifier: identifier.to_owned(),
        },
        "email_code" | "sms_code" | "verify_device" => SignInState::EnterCode {
            purpose: if kind == "verify_device" {
                CodePurpose::VerifyDevice
            } else {
                CodePurpose::SignIn
            },
            channel: match text("channel")?.as_str() {
                "sms" => CodeChannel::Sms,
                "email" => CodeChannel::Email,
                other => {
                    return Err(ClientError::protocol(format!(
                        "unknown channel `{}`",
                        crate::echo(other)
                    )))
                }
            },
            destination_hint: text("destination_hint")?,
            length: u32::try_from(number("length")?).unwrap_or(u32::MAX),
            expires_at: number("expires_at")?,
            resend_after: number("resend_after")?,
        },
        "choose_second_factor" => {
            let factors = next
                .get("factors")
                .and_then(Value::as_array)
                .ok_or_else(|| ClientError::protocol("choose_second_factor without factors"))?;
            let options: Vec<SecondFactorOption> = factors
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|name| match name {
                    "push" => Some(SecondFactorOption {
                        kind: SecondFactor::Push,
                        display_name: "Approve a request on my phone".into(),
                    }),
                    "totp" => Some(SecondFactorOption {
                        kind: SecondFactor::Totp,
                        display_name: "Authenticator app code".into(),
                    }),
                    "backup_code" => Some(SecondFactorOption {
                        kind: SecondFactor::BackupCode,
                        display_name: "Backup code".into(),
                    }),
                    _ => None, // a factor this version does not know is not offered
                })
                .collect();
            if options.is_empty() {
                return Err(ClientError::protocol("no second factor this app supports"));
            }
            SignInState::ChooseSecondFactor { options }
        }
        "push" | "approve_test_push" => {
            let expires_at = number("expires_at")?;
            let shown = text("number")?;
            if kind == "push" {
                SignInState::ApprovePush {
                    number: shown,
                    expires_at,
                }
            } else {
                SignInState::ApproveTestPush {
                    number: shown,
                    expires_at,
                }
            }
        }
        "enroll_authenticator" => SignInState::EnrollAuthenticator {
            skips_left: u32::try_from(number("skips_left")?).unwrap_or(u32::MAX),
            mandatory: next
                .get("mandatory")
                .and_then(Value::as_bool)
                .ok_or_else(|| ClientError::protocol("enroll_authenticator without mandatory"))?,
        },
        "activate_authenticator" => {
            let expires_at = number("expires_at")?;
            match (current, next.get("qr_payload")) {
                // Later answers carry only the expiry: the code is shown once.
                (
                    SignInState::ActivateAuthenticator {
                        qr_payload,
                        activation_code,
                        server_url,
                        label,
                        ..
                    },
                    None,
                ) => SignInState::ActivateAuthenticator {
                    qr_payload: qr_payload.clone(),
                    activation_code: activation_code.clone(),
                    server_url: server_url.clone(),
                    label: label.clone(),
                    expires_at,
                },
                _ => SignInState::ActivateAuthenticator {
                    qr_payload: Sensitive::new(text("qr_payload")?),
                    activation_code: Sensitive::new(text("activation_code")?),
                    server_url: text("server_url")?,
                    label: text("label")?,
                    expires_at,
                },
            }
        }
        "totp" => SignInState::EnterTotp {
            length: u32::try_from(number("length")?).unwrap_or(u32::MAX),
        },
        "backup_code" => SignInState::EnterBackupCode {
            remaining: u32::try_from(number("remaining")?).unwrap_or(u32::MAX),
        },
        other => {
            return Err(ClientError::protocol(format!(
                "unknown step `{}`",
                crate::echo(other)
            )))
        }
    })
}

/// The method list of `POST /v1/login/methods`, ready to show.
pub(super) fn choose_method_state(answer: LoginMethods) -> Result<SignInState, ClientError> {
    let methods: Vec<SignInMethod> = answer
        .methods
        .into_iter()
        .filter_map(|m| {
            let (kind, display_name) = match m.kind.as_str() {
                "password" => (MethodKind::Password, "Password".to_owned()),
                "email_code" => (
                    MethodKind::EmailCode,
                    format!(
                        "Email a code to {}",
                        m.destination_hint.as_deref().unwrap_or("your address")
                    ),
                ),
                "sms_code" => (
                    MethodKind::SmsCode,
                    format!(
                        "Text a code to {}",
                        m.destination_hint.as_deref().unwrap_or("your phone")
                    ),
                ),
                "federated" => (
                    MethodKind::Federated,
                    m.display_name.clone().or(m.provider.clone())?,
                ),
                "sso" => (
                    MethodKind::Sso,
                    m.display_name.clone().or(m.provider.clone())?,
                ),
                "push" => (MethodKind::Push, "Sign in with my phone".to_owned()),
                _ => return None, // a method this version does not know is not offered
            };
            Some(SignInMethod {
                kind,
                display_name,
                destination_hint: m.destination_hint,
                provider: m.provider,
            })
        })
        .collect();
    if methods.is_empty() {
        return Err(ClientError::protocol("no sign-in method this app supports"));
    }
    Ok(SignInState::ChooseMethod {
        identifier: answer.identifier,
        organization: answer.organization.map(|o| o.name),
        methods,
    })
}
