//! The step mapping: the server's `next` step and method list (docs/protocol.md, the protocol
//! crate's [`Next`] and [`LoginMethods`]) to the state a screen shows, with its English copy.
//! Pure: no I/O.

use authcore_protocol::signin::{self as wire, Channel, CodeStep, LoginMethod, LoginMethods, Next};

use super::state::{
    CodeChannel, CodePurpose, MethodKind, SecondFactor, SecondFactorOption, Sensitive,
    SignInMethod, SignInState,
};
use crate::error::ClientError;
use crate::timestamp::Timestamp;

/// The state a `next` step asks for. `current` is the state the answer came to (an activation
/// step repeats only the expiry of the code shown); `identifier` is the one being signed in.
pub(super) fn state_of(
    next: &Next,
    current: &SignInState,
    identifier: &str,
) -> Result<SignInState, ClientError> {
    Ok(match next {
        Next::Password => SignInState::EnterPassword {
            identifier: identifier.to_owned(),
        },
        Next::EmailCode(step) | Next::SmsCode(step) => code_state(CodePurpose::SignIn, step)?,
        Next::VerifyDevice(step) => code_state(CodePurpose::VerifyDevice, step)?,
        Next::ChooseSecondFactor {
            factors,
            phone_hint,
        } => {
            let phone = phone_hint.as_deref().unwrap_or("your phone");
            let options: Vec<SecondFactorOption> = factors
                .iter()
                .filter_map(|factor| match factor {
                    wire::SecondFactor::Push => Some(SecondFactorOption {
                        kind: SecondFactor::Push,
                        display_name: "Approve a request on my phone".into(),
                    }),
                    wire::SecondFactor::Totp => Some(SecondFactorOption {
                        kind: SecondFactor::Totp,
                        display_name: "Authenticator app code".into(),
                    }),
                    wire::SecondFactor::BackupCode => Some(SecondFactorOption {
                        kind: SecondFactor::BackupCode,
                        display_name: "Backup code".into(),
                    }),
                    wire::SecondFactor::Sms => Some(SecondFactorOption {
                        kind: SecondFactor::Sms,
                        display_name: format!("Text a code to {phone}"),
                    }),
                    wire::SecondFactor::Voice => Some(SecondFactorOption {
                        kind: SecondFactor::Voice,
                        display_name: format!("Call {phone}"),
                    }),
                    // a factor this version does not know is not offered
                    wire::SecondFactor::Unknown => None,
                })
                .collect();
            if options.is_empty() {
                return Err(ClientError::protocol("no second factor this app supports"));
            }
            SignInState::ChooseSecondFactor { options }
        }
        Next::Push(push) => SignInState::ApprovePush {
            number: push.number.clone(),
            expires_at: Timestamp::from_unix_seconds(push.expires_at),
        },
        Next::ApproveTestPush(push) => SignInState::ApproveTestPush {
            number: push.number.clone(),
            expires_at: Timestamp::from_unix_seconds(push.expires_at),
        },
        Next::EnrollAuthenticator {
            skips_left,
            mandatory,
        } => SignInState::EnrollAuthenticator {
            skips_left: *skips_left,
            mandatory: *mandatory,
        },
        Next::ActivateAuthenticator(step) => match (current, &step.code) {
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
                expires_at: Timestamp::from_unix_seconds(step.expires_at),
            },
            (_, Some(code)) => SignInState::ActivateAuthenticator {
                qr_payload: Sensitive::new(code.qr_payload.clone()),
                activation_code: Sensitive::new(code.activation_code.clone()),
                server_url: code.server_url.clone(),
                label: code.label.clone(),
                expires_at: Timestamp::from_unix_seconds(step.expires_at),
            },
            (_, None) => {
                return Err(ClientError::protocol(
                    "step `activate_authenticator` without `qr_payload`",
                ))
            }
        },
        Next::Totp { length } => SignInState::EnterTotp { length: *length },
        Next::BackupCode { remaining } => SignInState::EnterBackupCode {
            remaining: *remaining,
        },
        Next::Unknown { kind } => {
            return Err(ClientError::protocol(format!(
                "unknown step `{}`",
                crate::echo(kind)
            )))
        }
    })
}

/// "Enter the code sent to …" for a code step.
fn code_state(purpose: CodePurpose, step: &CodeStep) -> Result<SignInState, ClientError> {
    Ok(SignInState::EnterCode {
        purpose,
        channel: match &step.channel {
            Channel::Sms => CodeChannel::Sms,
            Channel::Voice => CodeChannel::Voice,
            Channel::Email => CodeChannel::Email,
            Channel::Unknown(other) => {
                return Err(ClientError::protocol(format!(
                    "unknown channel `{}`",
                    crate::echo(other)
                )))
            }
        },
        destination_hint: step.destination_hint.clone(),
        length: step.length,
        expires_at: Timestamp::from_unix_seconds(step.expires_at),
        resend_after: step.resend_after,
    })
}

/// The method list of `POST /v1/login/methods`, ready to show.
pub(super) fn choose_method_state(answer: LoginMethods) -> Result<SignInState, ClientError> {
    let methods: Vec<SignInMethod> = answer
        .methods
        .into_iter()
        .filter_map(|method| {
            let (kind, display_name, destination_hint, provider) = match method {
                LoginMethod::Password => (MethodKind::Password, "Password".to_owned(), None, None),
                LoginMethod::EmailCode { destination_hint } => (
                    MethodKind::EmailCode,
                    format!("Email a code to {destination_hint}"),
                    Some(destination_hint),
                    None,
                ),
                LoginMethod::SmsCode { destination_hint } => (
                    MethodKind::SmsCode,
                    format!("Text a code to {destination_hint}"),
                    Some(destination_hint),
                    None,
                ),
                LoginMethod::Federated {
                    provider,
                    display_name,
                } => (MethodKind::Federated, display_name, None, Some(provider)),
                LoginMethod::Sso {
                    provider,
                    display_name,
                } => (MethodKind::Sso, display_name, None, Some(provider)),
                LoginMethod::Push => (
                    MethodKind::Push,
                    "Sign in with my phone".to_owned(),
                    None,
                    None,
                ),
                // a method this version does not know is not offered
                LoginMethod::Unknown => return None,
            };
            Some(SignInMethod {
                kind,
                display_name,
                destination_hint,
                provider,
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
