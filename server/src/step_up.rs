//! Step-up (in the spirit of RFC 9470): a security change (binding a device or TOTP,
//! regenerating backup codes, changing the password, removing a factor) needs an access token
//! whose sign-in is recent and strong. Strong: it used a second factor (`push`, `totp`,
//! `backup_code`, `sms`, `voice`), or, for a user who had none enrolled when it signed in (and still usable), a
//! password plus an out-of-band code (`email_code`, `sms_code`, `email_verification`). Otherwise `401
//! insufficient_user_authentication` with `max_age` and `acr_values=mfa`: the client signs in
//! again with `acr_values=mfa` and retries with the new session's token.

use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::store::{Session, SessionAuth, User};
use crate::tokens::session_of;
use crate::AppState;

/// Second factors proper (`sms` and `voice`: a code to the verified phone number).
pub(crate) const SECOND_FACTORS: [&str; 5] = ["push", "totp", "backup_code", "sms", "voice"];
/// Out-of-band codes that, with a password, make a strong sign-in for a user without a second
/// factor.
const OUT_OF_BAND: [&str; 3] = ["email_code", "sms_code", "email_verification"];

/// Whether `factors` make a strong sign-in for a user who has (`has_second_factor`) or has not
/// enrolled a second factor.
pub(crate) fn strong(factors: &[String], has_second_factor: bool) -> bool {
    let has = |names: &[&str]| factors.iter().any(|f| names.contains(&f.as_str()));
    has(&SECOND_FACTORS) || (!has_second_factor && has(&["password"]) && has(&OUT_OF_BAND))
}

/// Answers `insufficient_user_authentication` unless the session's sign-in completed at most
/// `security.step_up_max_age_s` ago and was strong enough for `user`; returns how it signed in.
pub(crate) async fn require_step_up(
    app: &AppState,
    session: &Session,
    user: &User,
) -> ApiResult<SessionAuth> {
    let max_age = app.config.security.step_up_max_age_s;
    let refused = || ApiError::insufficient_user_authentication(max_age);
    let auth = app
        .store
        .session_auth(session.id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    let now = app.clock.now();
    if now.saturating_sub(auth.auth_time) > max_age {
        return Err(refused());
    }
    // A factor counts when it was usable at the sign-in (and still is): one the user added or
    // confirmed since, from a strong session, does not make that session weak.
    let had_second_factor = app.store.had_second_factor(user.id, auth.auth_time).await?;
    if !strong(&auth.factors, had_second_factor) {
        return Err(refused());
    }
    Ok(auth)
}

/// A stepped-up caller: the bearer's session, its user, and how it signed in.
pub(crate) struct SteppedUp {
    pub session: Session,
    pub user: User,
    pub auth: SessionAuth,
}

/// The bearer's session and user, refused unless stepped up ([`require_step_up`]).
pub(crate) async fn stepped_up(app: &AppState, bearer: &Bearer) -> ApiResult<SteppedUp> {
    let session = session_of(app, bearer).await?;
    let user = app
        .store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    let auth = require_step_up(app, &session, &user).await?;
    Ok(SteppedUp {
        session,
        user,
        auth,
    })
}

#[cfg(test)]
mod tests {
    use super::strong;

    fn f(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_second_factor_is_strong_and_a_password_alone_is_not() {
        assert!(strong(&f(&["password", "totp"]), true));
        assert!(strong(&f(&["push"]), true));
        assert!(!strong(&f(&["password"]), false));
        assert!(!strong(&f(&["password", "email_verification"]), true));
        assert!(strong(&f(&["password", "email_verification"]), false));
        assert!(strong(&f(&["email_code", "password"]), false));
        assert!(!strong(&f(&["email_code"]), false));
        assert!(!strong(&f(&["sms_code", "email_verification"]), false));
    }
}
