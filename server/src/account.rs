//! The signed-in user's own endpoints (userinfo, sign-in history, TOTP and backup-code
//! enrollment), password recovery, and `--dev` seed users.

use authcore_protocol::account::{
    BackupCodes, Confirmed, PasswordChanged, PasswordReset, PasswordStatus, Removed, ResetCodeSent,
    SignInEntry, SignIns, TotpEnrollment, UserInfo,
};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Bearer, Caller, JsonBody};
use crate::secrets::{random_backup_code, random_bytes, SecretString};
use crate::security::{self, Change, Origin};
use crate::signin::{
    backup_code_hash, mask_email, reserve_attempt, send_code, totp_of, Identifier,
};
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::{CodeOutcome, NewUser, OutboxMessage, SignInEvent, User};
use crate::tokens::{no_store, session_of};
use crate::AppState;

async fn user_of(app: &AppState, bearer: &Bearer) -> ApiResult<User> {
    let session = session_of(app, bearer).await?;
    app.store
        .user(session.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)
}

/// `GET /v1/userinfo`
pub async fn userinfo(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Json<UserInfo>> {
    let user = user_of(&app, &bearer).await?;
    Ok(Json(UserInfo {
        sub: user.id.to_string(),
        email: user.email,
        email_verified: true,
        name: user.name,
        phone_number: user.phone,
    }))
}

/// `GET /v1/me/sign-ins`: newest first, at most 100.
pub async fn sign_ins(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Json<SignIns>> {
    let user = user_of(&app, &bearer).await?;
    let events = app.store.sign_in_events(user.id, 100).await?;
    let changes = app.store.security_events(user.id, 100).await?;
    let mut entries: Vec<SignInEntry> = events
        .into_iter()
        .map(|e| SignInEntry {
            at: e.at,
            kind: e.kind,
            method: e.method,
            event: None,
            detail: None,
            factors: e.factors,
            ip: e.ip,
            user_agent: e.user_agent,
            result: e.result,
        })
        .collect();
    // Security events, in the same shape (`method` names the change, `event` and `detail` too).
    entries.extend(changes.into_iter().map(|e| SignInEntry {
        at: e.at,
        kind: "security_event".to_owned(),
        method: e.kind.clone(),
        event: Some(e.kind),
        detail: Some(e.detail),
        factors: e.factors,
        ip: e.ip,
        user_agent: e.user_agent,
        result: "success".to_owned(),
    }));
    // Both lists are newest first; a stable sort keeps their order within a second.
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    entries.truncate(100);
    Ok(Json(SignIns { sign_ins: entries }))
}

/// `POST /v1/me/totp`: a new pending credential, active after `/v1/me/totp/confirm`.
pub async fn start_totp(
    State(app): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<TotpEnrollment>> {
    use authcore::otp::{uri, Algorithm, Digits, OtpAccount, OtpKind, Period, Secret};
    let SteppedUp { user, .. } = stepped_up(&app, &bearer).await?;
    let secret = random_bytes(Secret::GENERATED_BYTES);
    app.store
        .start_totp(user.id, &secret, app.clock.now())
        .await?;
    let account = OtpAccount {
        issuer: Some(app.config.totp.issuer.clone()),
        account: user.email.clone(),
        secret: Secret::from_bytes(secret.to_vec()),
        algorithm: Algorithm::Sha1,
        digits: Digits::SIX,
        kind: OtpKind::Totp {
            period: Period::DEFAULT,
        },
        image: None,
    };
    Ok(Json(TotpEnrollment {
        otpauth_uri: uri::format(&account),
        secret: account.secret.to_base32().as_str().to_owned(),
        digits: 6,
        period: 30,
        algorithm: "SHA1".to_owned(),
        confirmed: false,
    }))
}

#[derive(Deserialize)]
pub struct CodeRequest {
    code: String,
}

/// `POST /v1/me/totp/confirm` `{"code"}`
pub async fn confirm_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    JsonBody(request): JsonBody<CodeRequest>,
) -> ApiResult<Json<Confirmed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let credential = app.store.totp(user.id).await?;
    let replaces = credential.as_ref().is_some_and(|t| t.confirmed);
    let pending = credential.and_then(|t| t.pending).ok_or_else(|| {
        ApiError::invalid_request("no TOTP enrollment is pending; POST /v1/me/totp first")
    })?;
    let code: String = request
        .code
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let now = app.clock.now();
    let Ok(step) = totp_of(&pending).verify(&code, now, app.config.totp.window_steps) else {
        return Err(wrong_totp());
    };
    let change = if replaces {
        Change {
            kind: "totp_replaced",
            detail: "authenticator app (TOTP) replaced".into(),
            subject: "Your authenticator app was replaced".into(),
            what: "The authenticator app (TOTP) of your account was replaced by a new one".into(),
        }
    } else {
        Change {
            kind: "totp_added",
            detail: "authenticator app (TOTP) added".into(),
            subject: "An authenticator app was added".into(),
            what: "An authenticator app (TOTP) was added to your account".into(),
        }
    };
    let kind = change.kind;
    let noted = security::note(&app, &user, Origin::of(&caller, &auth.factors), change);
    if !app.store.confirm_totp_at(user.id, step, now, noted).await? {
        return Err(wrong_totp());
    }
    security::told(&app, kind);
    Ok(Json(Confirmed { confirmed: true }))
}

fn wrong_totp() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::WrongCredential,
        "the code is not correct; check the authenticator's clock and try the current code",
    )
}

/// `POST /v1/me/backup-codes`: ten new single-use codes, shown once; the old ones stop working.
pub async fn new_backup_codes(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<BackupCodes>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let codes: Vec<SecretString> = (0..10).map(|_| random_backup_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| backup_code_hash(&app, user.id, c.expose()))
        .collect();
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "backup_codes_regenerated",
            detail: "10 new backup codes".into(),
            subject: "New backup codes were created".into(),
            what: "New backup codes were created for your account (the old ones no longer work)"
                .into(),
        },
    );
    app.store
        .regenerate_backup_codes(user.id, hashes, app.clock.now(), noted)
        .await?;
    security::told(&app, "backup_codes_regenerated");
    let shown: Vec<&str> = codes.iter().map(SecretString::expose).collect();
    Ok(Json(BackupCodes {
        codes: shown.into_iter().map(str::to_owned).collect(),
    }))
}

/// `POST /v1/me/totp/confirm-suspended` (stepped up): keeps the TOTP credential a password reset
/// suspended; it is accepted again at sign-in.
pub async fn confirm_suspended_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<Confirmed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "factor_confirmed",
            detail: "authenticator app (TOTP)".into(),
            subject: "You confirmed your authenticator app".into(),
            what: "The authenticator app (TOTP) suspended by the password reset was confirmed and works again"
                .into(),
        },
    );
    if !app
        .store
        .confirm_suspended_totp(user.id, app.clock.now(), noted)
        .await?
    {
        return Err(ApiError::invalid_request(
            "the authenticator app (TOTP) is not suspended",
        ));
    }
    security::told(&app, "factor_confirmed");
    Ok(Json(Confirmed { confirmed: true }))
}

/// `DELETE /v1/me/totp` (stepped up): removes the TOTP credential (active and pending).
pub async fn remove_totp(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
) -> ApiResult<Json<Removed>> {
    let SteppedUp { user, auth, .. } = stepped_up(&app, &bearer).await?;
    let noted = security::note(
        &app,
        &user,
        Origin::of(&caller, &auth.factors),
        Change {
            kind: "totp_removed",
            detail: "authenticator app (TOTP) removed".into(),
            subject: "Your authenticator app was removed".into(),
            what: "The authenticator app (TOTP) was removed from your account".into(),
        },
    );
    if !app.store.remove_totp(user.id, noted).await? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no TOTP credential is enrolled",
        ));
    }
    security::told(&app, "totp_removed");
    Ok(Json(Removed { removed: true }))
}

#[derive(Deserialize)]
pub struct ChangePasswordRequest {
    current_password: SecretString,
    new_password: SecretString,
}

/// `POST /v1/me/password` (stepped up) `{"current_password","new_password"}`: a wrong current
/// password counts toward the lockout like a sign-in failure; the user's other sessions end.
pub async fn change_password(
    State(app): State<AppState>,
    bearer: Bearer,
    caller: Caller,
    JsonBody(request): JsonBody<ChangePasswordRequest>,
) -> ApiResult<Response> {
    let SteppedUp {
        session,
        user,
        auth,
    } = stepped_up(&app, &bearer).await?;
    let policy = &app.config.password;
    let new = request.new_password.expose();
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
    let current = request.current_password.expose();
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
        .hash(&request.new_password)
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

#[derive(Deserialize)]
pub struct ForgotRequest {
    identifier: String,
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
    JsonBody(request): JsonBody<ForgotRequest>,
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

#[derive(Deserialize)]
pub struct ResetRequest {
    identifier: String,
    code: SecretString,
    new_password: SecretString,
}

/// `POST /v1/password/reset` `{"identifier","code","new_password"}`: revokes every session and
/// every authorization code not exchanged yet. A code is checked only after one attempt was
/// reserved for the caller's address (the sign-in throttle) and for the account (the sign-in
/// lockout): wrong codes count toward both, and at either limit nothing is checked.
pub async fn reset_password(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<ResetRequest>,
) -> ApiResult<Json<PasswordReset>> {
    let email = email_of(&request.identifier)?;
    let policy = &app.config.password;
    let length = request.new_password.expose().chars().count();
    if length < policy.min_length || request.new_password.expose().len() > policy.max_length {
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
    let candidate: String = request
        .code
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
        .hash(&request.new_password)
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

/// Creates the config's `dev_users` (idempotent: existing emails are left alone).
pub(crate) async fn seed_dev_users(app: &AppState) -> Result<(), String> {
    let now = app.clock.now();
    for dev in &app.config.dev_users {
        if app
            .store
            .user_by_email(&dev.email)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        let hash = app.passwords.hash(&dev.password).await?;
        let id = app
            .store
            .ensure_user(NewUser {
                email: dev.email.to_lowercase(),
                phone: dev.phone.clone(),
                name: dev.name.clone(),
                password_hash: Some(hash),
            })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(secret) = &dev.totp_secret {
            let secret = authcore::otp::Secret::from_base32(secret.expose())
                .map_err(|e| format!("dev user {}: totp_secret: {e}", dev.email))?;
            app.store
                .seed_totp(id, secret.expose(), now)
                .await
                .map_err(|e| e.to_string())?;
        }
        if !dev.backup_codes.is_empty() {
            let hashes = dev
                .backup_codes
                .iter()
                .map(|c| backup_code_hash(app, id, c.expose()))
                .collect();
            app.store
                .replace_backup_codes(id, hashes, now)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
