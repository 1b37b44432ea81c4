//! The user's gestures, one per [`super::SignIn`] action, and the states each applies to.

use zeroize::Zeroizing;

use super::state::{SecondFactor, SignInMethod, SignInState};
use crate::error::ClientError;

/// One user gesture with what the user typed or chose (trimmed; secrets zeroized on drop).
pub(crate) enum Gesture {
    Start(String),
    ChooseMethod(SignInMethod),
    SubmitPassword(Zeroizing<String>),
    SubmitCode(Zeroizing<String>),
    ResendCode,
    ChooseSecondFactor(SecondFactor),
    WaitForPhone,
    ResendPush,
    SkipEnrollment,
    EnrollAuthenticator,
    ForgotPassword(String),
    ChooseNewPassword(Zeroizing<String>),
    Back,
}

impl Gesture {
    /// The action's name in [`ClientError::InvalidAction`] (the `SignIn` method's name).
    pub fn name(&self) -> &'static str {
        match self {
            Gesture::Start(_) => "start",
            Gesture::ChooseMethod(_) => "choose_method",
            Gesture::SubmitPassword(_) => "submit_password",
            Gesture::SubmitCode(_) => "submit_code",
            Gesture::ResendCode => "resend_code",
            Gesture::ChooseSecondFactor(_) => "choose_second_factor",
            Gesture::WaitForPhone => "wait_for_phone",
            Gesture::ResendPush => "resend_push",
            Gesture::SkipEnrollment => "skip_enrollment",
            Gesture::EnrollAuthenticator => "enroll_authenticator",
            Gesture::ForgotPassword(_) => "forgot_password",
            Gesture::ChooseNewPassword(_) => "choose_new_password",
            Gesture::Back => "back",
        }
    }

    /// Whether the gesture applies at `state` (what the user typed is checked later).
    pub fn applies(&self, state: &SignInState) -> bool {
        use SignInState as S;
        match self {
            Gesture::Start(_) | Gesture::ForgotPassword(_) => !matches!(state, S::Done { .. }),
            Gesture::ChooseMethod(_) => matches!(state, S::ChooseMethod { .. }),
            Gesture::SubmitPassword(_) => matches!(state, S::EnterPassword { .. }),
            Gesture::SubmitCode(_) => matches!(
                state,
                S::EnterCode { .. } | S::EnterTotp { .. } | S::EnterBackupCode { .. }
            ),
            Gesture::ResendCode => matches!(state, S::EnterCode { .. }),
            Gesture::ChooseSecondFactor(_) => matches!(state, S::ChooseSecondFactor { .. }),
            Gesture::WaitForPhone => matches!(
                state,
                S::ApprovePush { .. } | S::ActivateAuthenticator { .. } | S::ApproveTestPush { .. }
            ),
            Gesture::ResendPush => matches!(state, S::ApprovePush { .. }),
            Gesture::SkipEnrollment | Gesture::EnrollAuthenticator => {
                matches!(state, S::EnrollAuthenticator { .. })
            }
            Gesture::ChooseNewPassword(_) => matches!(state, S::ChooseNewPassword { .. }),
            Gesture::Back => true,
        }
    }
}

/// `gesture` does not apply at `state`.
pub(crate) fn invalid(gesture: &Gesture, state: &SignInState) -> ClientError {
    ClientError::InvalidAction {
        action: gesture.name(),
        state: state.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gesture_applies_only_where_its_screen_offers_it() {
        let identifier = SignInState::EnterIdentifier;
        let password = SignInState::EnterPassword {
            identifier: "alice@acme.example".into(),
        };
        let prompt = SignInState::EnrollAuthenticator {
            skips_left: 1,
            mandatory: false,
        };
        let totp = SignInState::EnterTotp { length: 6 };
        assert!(Gesture::Start(String::new()).applies(&identifier));
        assert!(Gesture::ForgotPassword(String::new()).applies(&password));
        assert!(Gesture::SubmitPassword(Zeroizing::default()).applies(&password));
        assert!(!Gesture::SubmitPassword(Zeroizing::default()).applies(&totp));
        assert!(Gesture::SubmitCode(Zeroizing::default()).applies(&totp));
        assert!(!Gesture::SubmitCode(Zeroizing::default()).applies(&password));
        assert!(!Gesture::ResendCode.applies(&totp));
        assert!(Gesture::SkipEnrollment.applies(&prompt));
        assert!(Gesture::EnrollAuthenticator.applies(&prompt));
        assert!(!Gesture::ResendPush.applies(&prompt));
        assert!(!Gesture::WaitForPhone.applies(&prompt));
        assert!(Gesture::Back.applies(&prompt));
        assert_eq!(
            invalid(&Gesture::SubmitCode(Zeroizing::default()), &password),
            ClientError::InvalidAction {
                action: "submit_code",
                state: "EnterPassword",
            }
        );
    }
}
