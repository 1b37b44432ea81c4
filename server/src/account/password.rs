//! The password: changing it while signed in (`/v1/me/password`, stepped up), and recovery with
//! an emailed code (`/v1/password/forgot`, `/v1/password/reset`) and what a reset suspends.

use authcore_protocol::account::{
    ChangePasswordRequest, ForgotPasswordRequest, PasswordChanged, PasswordReset, PasswordStatus,
    ResetCodeSent, ResetPasswordRequest,
};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, JsonBody};
use crate::secrets::SecretString;
use crate::security::{self, Change, Origin};
use crate::signin::{mask_email, reserve_attempt, send_code, Identifier};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::{CodeOutcome, OutboxMessage, SignInEvent, User};
use crate::tokens::no_store;
use crate::AppState;

/// `POST /v1/me/password` (stepped up) `{"current_password","new_password"}`: a wrong current
/// password counts toward the lockout like a sign-in failure; the user's other sessions end.
pub async fn change_password(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    JsonBody(request): JsonBody<ChangePasswordRequest>,
) -> ApiResult<Response> {
    let current_password = SecretString::new(request.current_password);
    let new_password = SecretString::new(request.new_password);
    let SteppedUp {
        session,
        user,
        auth,
    } = stepped_up(&app, &bearer).await?;
    let policy = &app.config.password;
    let new = new_password.expose();
    if new.chars().count() < policy.min_length || new.len() > policy.max_length {
        return Err(ApiError::weak_password(
            policy.min_length,
            policy.max_length,
        ));
    }
    let now = app.clock.now();
    let key = format!("user:{}", user.id);
    // Counted before it is checked, like every credential: concurrent guesses get no extra
    // checks, and those past the limit are refused unchecked.
    let reservation = match reserve_attempt(&app, &caller.ip, key.clone(), now).await? {
        Ok(reservation) => reservation,
        Err(until) => return Err(ApiError::locked(until.saturating_sub(now))),
    };
    let current = current_password.expose();
    let matched = current.len() <= policy.max_length
        && app
            .passwords
            .verify(current, user.password_hash.as_deref())
            .await;
    if !matched {
        let state = reservation.wrong(&app).await?;
        app.store
            .record_sign_in_event(SignInEvent {
                user_id: user.id,
                at: now,
                kind: "password_change".into(),
                method: "password".into(),
                factors: vec!["password".into()],
                ip: caller.ip.clone(),
                user_agent: caller.user_agent.clone(),
                result: "wrong_password".into(),
            })
            .await?;
        let max = app.config.lockout.max_failures;
        return Err(match state.locked_until {
            Some(until) => ApiError::locked(until.saturating_sub(now)),
            None => {
                ApiError::wrong_credential("current password", max.saturating_sub(state.failures))
            }
        });
    }
    reservation.right(&app).await?;
    let hash = app
        .passwords
        .hash(&new_password)
        .await
        .map_err(|_| ApiError::unavailable())?;
    let noted = {
        let app = app.clone();
        let user = user.clone();
        let ip = caller.ip.clone();
        let user_agent = caller.user_agent.clone();
        let factors = auth.factors.clone();
        Box::new(move |revoked: u64| {
            let caller = Caller { ip, user_agent };
            security::note(
                &app,
                &user,
                Origin::of(&caller, &factors),
                Change {
                    kind: "password_changed",
                    detail: format!("password changed; sessions signed out elsewhere: {revoked}"),
                    subject: "Your password was changed".into(),
                    what: "The password of your account was changed".into(),
                },
            )
        })
    };
    let revoked = app
        .store
        .change_password(user.id, &hash, &key, session.id, now, noted)
        .await?;
    security::told(&app, "password_changed");
    Ok(no_store(PasswordChanged {
        status: PasswordStatus::PasswordChanged,
        revoked_sessions: revoked,
    }))
}

/// The start of the review window (`reset_review_days` before `now`); none at all for 0 days.
pub(crate) fn review_since(now: u64, days: u64) -> u64 {
    if days == 0 {
        u64::MAX
    } else {
        now.saturating_sub(days * 86_400)
    }
}

fn email_of(raw: &str) -> ApiResult<String> {
    match Identifier::parse(raw)? {
        Identifier::Email { address, .. } => Ok(address),
        Identifier::Phone(_) => Err(ApiError::invalid_request(
            "passwords are reset by email address",
        )),
    }
}

/// `POST /v1/password/forgot` `{"identifier"}`: the same answer whether the account exists.
pub async fn forgot_password(
    State(app): State<AppState>,
    JsonBody(request): JsonBody<ForgotPasswordRequest>,
) -> ApiResult<(StatusCode, Json<ResetCodeSent>)> {
    let email = email_of(&request.identifier)?;
    let now = app.clock.now();
    let config = &app.config.codes;
    let user = app.store.user_by_email(&email).await?;
    let message = |code: &SecretString| {
        user.as_ref().map(|u| OutboxMessage {
            channel: "email".into(),
            recipient: u.email.clone(),
            subject: "Reset your password".into(),
            body: SecretString::new(format!(
                "Your password reset code is {}. It expires in {} minutes. If you did not ask for it, ignore this message.",
                code.expose(),
                config.ttl_s / 60
            )),
        })
    };
    send_code(
        &app,
        format!("email:{email}"),
        "password_reset",
        now,
        message,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetCodeSent {
            status: PasswordStatus::SentIfAccountExists,
            destination_hint: mask_email(&email),
            length: config.length,
            expires_at: now + config.ttl_s,
        }),
    ))
}

/// `POST /v1/password/reset` `{"identifier","code","new_password"}`: revokes every session and
/// every authorization code not exchanged yet. A code is checked only after one attempt was
/// reserved for the caller's address (the sign-in throttle) and for the account (the sign-in
/// lockout): wrong codes count toward both, and at either limit nothing is checked.
pub async fn reset_password(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ResetPasswordRequest>,
) -> ApiResult<Json<PasswordReset>> {
    let code = SecretString::new(request.code);
    let new_password = SecretString::new(request.new_password);
    let email = email_of(&request.identifier)?;
    let policy = &app.config.password;
    let length = new_password.expose().chars().count();
    if length < policy.min_length || new_password.expose().len() > policy.max_length {
        return Err(ApiError::weak_password(
            policy.min_length,
            policy.max_length,
        ));
    }
    let now = app.clock.now();
    let key = format!("email:{email}");
    let code_id = app
        .store
        .latest_code(&key, "password_reset", now)
        .await?
        .ok_or_else(|| ApiError::expired("no live reset code; ask for a new one"))?;
    let candidate: String = code
        .expose()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let hash = app.hasher.hash(&code_id.to_string(), &candidate);
    let user = app.store.user_by_email(&email).await?;
    // The same keys as the sign-in's: one lockout per account, one throttle per address.
    let failure_key = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("identifier:{email}"),
    };
    let reservation = match reserve_attempt(&app, &caller.ip, failure_key.clone(), now).await? {
        Ok(reservation) => reservation,
        Err(until) => return Err(ApiError::locked(until.saturating_sub(now))),
    };
    match app
        .store
        .attempt_code(code_id, &hash, now, app.config.codes.max_attempts)
        .await?
    {
        CodeOutcome::Wrong { attempts_left } => {
            let state = reservation.wrong(&app).await?;
            return Err(match state.locked_until {
                Some(until) => ApiError::locked(until.saturating_sub(now)),
                None => ApiError::wrong_credential("code", attempts_left),
            });
        }
        CodeOutcome::Dead => {
            // Nothing was compared: the address gets its attempt back, the account's stays.
            reservation.give_back_ip(&app);
            reservation.wrong(&app).await?;
            return Err(ApiError::expired(
                "the code expired or has no attempts left; ask for a new one",
            ));
        }
        CodeOutcome::Accepted => reservation.right(&app).await?,
    }
    let user = user.ok_or_else(|| ApiError::expired("the code expired; ask for a new one"))?;
    let hash = app
        .passwords
        .hash(&new_password)
        .await
        .map_err(|_| ApiError::unavailable())?;
    // Codes first, then sessions: a code exchanged in between made a session the reset ends.
    app.store
        .revoke_unused_authorization_codes(user.id, now)
        .await?;
    let review_days = app.config.security.reset_review_days;
    let notes: crate::store::ResetNotes = {
        let app = app.clone();
        let user = user.clone();
        let caller = caller.clone();
        Box::new(move |suspended: &crate::store::Suspended| {
            reset_notes(&app, &user, &caller, review_days, suspended)
        })
    };
    app.store
        .reset_password_with_review(
            user.id,
            &hash,
            &failure_key,
            now,
            review_since(now, review_days),
            notes,
        )
        .await?;
    security::told(&app, "password_reset");
    Ok(Json(PasswordReset {
        status: PasswordStatus::PasswordChanged,
        sessions_revoked: true,
    }))
}

/// The events of a password reset: `password_reset` (its mail lists what was suspended) and,
/// when something was, `factors_suspended`.
fn reset_notes(
    app: &AppState,
    user: &User,
    caller: &Caller,
    review_days: u64,
    suspended: &crate::store::Suspended,
) -> Vec<crate::store::Noted> {
    let mut names: Vec<String> = suspended
        .devices
        .iter()
        .map(|d| format!("the authenticator '{}'", d.display_name))
        .collect();
    if suspended.totp {
        names.push("the authenticator app (TOTP)".into());
    }
    let extra = if names.is_empty() {
        String::new()
    } else {
        format!(
            "Added in the {review_days} days before the reset and now suspended until you confirm them in your account's security settings (or remove them): {}.\n\n",
            names.join(", ")
        )
    };
    let mut notes = vec![security::note_with(
        app,
        user,
        Origin::of(caller, &[]),
        Change {
            kind: "password_reset",
            detail: "password reset with an emailed code; every session signed out".into(),
            subject: "Your password was reset".into(),
            what: "The password of your account was reset".into(),
        },
        Some(&extra),
    )];
    if !names.is_empty() {
        notes.push(security::note_with(
            app,
            user,
            Origin::of(caller, &[]),
            Change {
                kind: "factors_suspended",
                detail: names.join(", "),
                subject: String::new(),
                what: String::new(),
            },
            None,
        ));
    }
    notes
}
