//! Login-method selection (`/v1/login/methods`) and the first-party authorization challenge
//! endpoint (`/v1/authorize-challenge`, draft-ietf-oauth-first-party-apps): a sign-in is a
//! server-side state machine; each request may carry one credential, and the answer is either an
//! authorization code or `insufficient_authorization` with the `next` step to show.

use authcore_protocol::signin::{
    AuthorizationCode, Channel, CodeStep, IdentifierType, LoginMethod, LoginMethods,
    LoginMethodsRequest, Next, Organization, SecondFactor,
};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::config::{Method, Mfa, OrgConfig};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonBody, Params};
use crate::secrets::{random_digits, random_token, token_hash, SecretString};
use crate::store::{
    Attempt, AuthSession, CodeOutcome, FailureState, IssueCode, IssueOutcome, NewAuthorizationCode,
    OutboxMessage, SignInEvent, User,
};
use crate::AppState;

mod authenticator;

/// The step name kept while a step-up sign-in waits for the password after a code.
const STEP_UP_PASSWORD: &str = "step_up_password";

/// A normalised identifier: an email address or an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email { address: String, domain: String },
    Phone(String),
}

impl Identifier {
    pub fn parse(raw: &str) -> Result<Identifier, ApiError> {
        let raw = raw.trim();
        let bad = || {
            ApiError::invalid_request(
                "identifier must be an email address or a phone number in +E.164 form",
            )
        };
        if raw.len() > 254 {
            return Err(bad());
        }
        if let Some(digits) = raw.strip_prefix('+') {
            let digits: String = digits
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
                .collect();
            if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
                return Ok(Identifier::Phone(format!("+{digits}")));
            }
            return Err(bad());
        }
        let address = raw.to_lowercase();
        let (local, domain) = address.split_once('@').ok_or_else(bad)?;
        let valid_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.contains(char::is_whitespace) || !valid_domain {
            return Err(bad());
        }
        Ok(Identifier::Email {
            domain: domain.to_owned(),
            address,
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email { address, .. } => address,
            Identifier::Phone(p) => p,
        }
    }

    /// The send-cap and code key.
    fn code_key(&self) -> String {
        match self {
            Identifier::Email { address, .. } => format!("email:{address}"),
            Identifier::Phone(p) => format!("phone:{p}"),
        }
    }
}

/// `n***@acme.example`
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `+*******0101`
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().min(4);
    let hidden = digits.len() - keep;
    let tail: String = digits[hidden..].iter().collect();
    format!("+{}{tail}", "*".repeat(hidden))
}

fn methods_for<'a>(
    app: &'a AppState,
    identifier: &Identifier,
) -> (&'a [Method], Option<&'a OrgConfig>) {
    match identifier {
        Identifier::Phone(_) => (&app.config.phone_methods, None),
        Identifier::Email { domain, .. } => match app.config.org_for_domain(domain) {
            Some(org) => (&org.methods, Some(org)),
            None => (&app.config.default_methods, None),
        },
    }
}

fn login_method(method: &Method, identifier: &Identifier) -> LoginMethod {
    match method {
        Method::Password => LoginMethod::Password,
        Method::EmailCode => LoginMethod::EmailCode {
            destination_hint: mask_email(identifier.as_str()),
        },
        Method::SmsCode => LoginMethod::SmsCode {
            destination_hint: mask_phone(identifier.as_str()),
        },
        Method::Federated {
            provider,
            display_name,
        } => LoginMethod::Federated {
            provider: provider.clone(),
            display_name: display_name.clone(),
        },
        Method::Sso {
            provider,
            display_name,
        } => LoginMethod::Sso {
            provider: provider.clone(),
            display_name: display_name.clone(),
        },
    }
}

/// `POST /v1/login/methods`: depends only on the identifier's form and domain, never on whether
/// an account exists, so known and unknown identifiers get the same shape and the same work.
pub async fn login_methods(
    State(app): State<AppState>,
    JsonBody(request): JsonBody<LoginMethodsRequest>,
) -> ApiResult<Json<LoginMethods>> {
    let identifier = Identifier::parse(&request.identifier)?;
    let (methods, org) = methods_for(&app, &identifier);
    let mut methods: Vec<LoginMethod> = methods
        .iter()
        .filter(|m| {
            !matches!(
                (&identifier, m),
                (Identifier::Phone(_), Method::EmailCode)
                    | (Identifier::Email { .. }, Method::SmsCode)
            )
        })
        .map(|m| login_method(m, &identifier))
        .collect();
    if org.is_some_and(|o| o.passwordless_push) {
        // Phone sign-in: a push approved on a device registered with user verification.
        methods.push(LoginMethod::Push);
    }
    Ok(Json(LoginMethods {
        identifier: identifier.as_str().to_owned(),
        identifier_type: match identifier {
            Identifier::Email { .. } => IdentifierType::Email,
            Identifier::Phone(_) => IdentifierType::Phone,
        },
        organization: org.map(|o| Organization {
            name: o.name.clone(),
            domain: o.domain.clone(),
        }),
        methods,
        sign_in_host: org.and_then(|o| o.sign_in_host.clone()),
    }))
}

/// The protocol's name of a second factor the flow offers.
fn second_factor(name: &str) -> Option<SecondFactor> {
    [
        SecondFactor::Push,
        SecondFactor::Totp,
        SecondFactor::BackupCode,
    ]
    .into_iter()
    .find(|f| f.as_str() == name)
}

/// The step a sign-in needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Primary,
    VerifyDevice,
    /// A step-up sign-in (`acr_values=mfa`) that began with a code and has no second factor to
    /// ask: the password too.
    PasswordAfterCode,
    SecondFactor(Vec<&'static str>),
    /// "Authenticator required": enroll or skip.
    Enroll {
        skips_left: u32,
        mandatory: bool,
    },
    Done,
}

struct Flow<'a> {
    app: &'a AppState,
    caller: &'a Caller,
    params: &'a Params,
    session: AuthSession,
    identifier: Identifier,
    user: Option<User>,
    token: String,
    now: u64,
    /// One credential per request: set once a password or code was checked.
    consumed: bool,
    /// Unused backup codes, as counted when the second factors were looked up.
    backup_codes_left: u32,
}

fn insufficient(next: Next) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InsufficientAuthorization,
        "more is needed to sign in; `next` says what",
    )
    .next(next)
}

/// `POST /v1/authorize-challenge`
pub async fn authorize_challenge(
    State(app): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<AuthorizationCode>> {
    let now = app.clock.now();
    let client_id = params
        .get("client_id")
        .ok_or_else(ApiError::invalid_client)?;
    if app.config.client(client_id).is_none() {
        return Err(ApiError::invalid_client());
    }
    if let Some(retry_after) = app.throttle.retry_after(&caller.ip, now) {
        return Err(ApiError::slow_down(
            retry_after,
            "too many failed attempts from this address",
        ));
    }
    let (session, token, identifier, user) = match params.get("auth_session") {
        Some(token) => {
            let (session, user) = app
                .store
                .auth_session(&token_hash(token), now)
                .await?
                .filter(|(s, _)| s.client_id == client_id)
                .ok_or_else(ApiError::invalid_session)?;
            let identifier = Identifier::parse(&session.identifier)?;
            (session, token.to_owned(), identifier, user)
        }
        None => start_session(&app, &caller, &params, client_id, now).await?,
    };
    let mut flow = Flow {
        app: &app,
        caller: &caller,
        params: &params,
        session,
        identifier,
        user,
        token,
        now,
        consumed: false,
        backup_codes_left: 0,
    };
    let result = flow.advance().await;
    let token = flow.token.clone();
    if flow.session.step != "done" {
        if flow.session.id == 0 {
            flow.save_new().await?;
        } else {
            app.store.update_auth_session(&flow.session).await?;
        }
    }
    result.map_err(|e| {
        if matches!(
            e.code(),
            ErrorCode::InvalidClient | ErrorCode::InvalidSession | ErrorCode::InvalidRequest
        ) {
            e
        } else {
            e.auth_session(token)
        }
    })
}

async fn start_session(
    app: &AppState,
    caller: &Caller,
    params: &Params,
    client_id: &str,
    now: u64,
) -> ApiResult<(AuthSession, String, Identifier, Option<User>)> {
    let identifier = Identifier::parse(params.require("identifier")?)?;
    let challenge = params.require("code_challenge")?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(ApiError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    if challenge.len() != 43
        || !challenge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid_request(
            "code_challenge must be the 43-character base64url SHA-256 of the code_verifier",
        ));
    }
    let acr_mfa = match params.get("acr_values") {
        None => false,
        Some(values) => {
            if let Some(unknown) = values.split_whitespace().find(|v| *v != "mfa") {
                return Err(ApiError::invalid_request(format!(
                    "acr_values `{}` is not supported; the only value is mfa",
                    unknown.chars().take(40).collect::<String>()
                )));
            }
            true
        }
    };
    let user = match &identifier {
        Identifier::Email { address, .. } => app.store.user_by_email(address).await?,
        Identifier::Phone(phone) => app.store.user_by_phone(phone).await?,
    };
    let device_recognised = match (params.get("device_token"), &user) {
        (Some(device_token), Some(user)) => {
            app.store
                .device_token_valid(user.id, &token_hash(device_token), now)
                .await?
        }
        _ => false,
    };
    // Saved at the end of this request, in the state it leaves the sign-in in (id 0 until then).
    let session = AuthSession {
        id: 0,
        client_id: client_id.to_owned(),
        code_challenge: challenge.to_owned(),
        identifier: identifier.as_str().to_owned(),
        user_id: user.as_ref().map(|u| u.id),
        device_recognised,
        step: "start".into(),
        primary_method: None,
        device_verified: false,
        second_factor_choice: None,
        second_factor: None,
        code_id: None,
        ip: caller.ip.clone(),
        user_agent: caller.user_agent.clone(),
        expires_at: now + app.config.tokens.auth_session_ttl_s,
        acr_mfa,
    };
    let token = random_token("as_");
    Ok((session, token.expose().to_owned(), identifier, user))
}

impl Flow<'_> {
    /// Writes a sign-in that began in this request (one insert instead of an insert at the start
    /// and an update at the end).
    pub(super) async fn save_new(&mut self) -> ApiResult<()> {
        if self.session.id == 0 {
            self.session.id = self
                .app
                .store
                .create_auth_session(&token_hash(&self.token), &self.session)
                .await?;
        }
        Ok(())
    }

    fn org(&self) -> Option<&OrgConfig> {
        let user = self.user.as_ref()?;
        let domain = user.email.split_once('@')?.1;
        self.app.config.org_for_domain(domain)
    }

    fn failure_key(&self) -> String {
        match &self.user {
            Some(user) => format!("user:{}", user.id),
            None => format!("identifier:{}", self.identifier.as_str()),
        }
    }

    fn factors(&self) -> Vec<String> {
        let mut factors = Vec::new();
        if let Some(primary) = &self.session.primary_method {
            factors.push(primary.clone());
        }
        if self.session.device_verified {
            factors.push("email_verification".into());
        }
        if let Some(second) = &self.session.second_factor {
            factors.push(second.clone());
        }
        factors
    }

    async fn event(&self, kind: &str, result: &str) -> ApiResult<()> {
        if let Some(user) = &self.user {
            self.app
                .store
                .record_sign_in_event(SignInEvent {
                    user_id: user.id,
                    at: self.now,
                    kind: kind.into(),
                    method: self
                        .session
                        .primary_method
                        .clone()
                        .unwrap_or_else(|| self.session.step.clone()),
                    factors: self.factors(),
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                    result: result.into(),
                })
                .await?;
        }
        Ok(())
    }

    async fn next_step(&mut self) -> ApiResult<Step> {
        if self.session.primary_method.is_none() {
            return Ok(Step::Primary);
        }
        let Some(user) = &self.user else {
            // Unknown identifiers never pass a first factor.
            return Ok(Step::Primary);
        };
        let (verify_devices, mfa) = self.org().map_or((false, Mfa::Optional), |o| {
            (o.verify_unrecognised_devices, o.mfa)
        });
        let pushed = self.session.primary_method.as_deref() == Some("push");
        let proved_email = self.session.primary_method.as_deref() == Some("email_code")
            || self.session.device_verified
            || pushed;
        if verify_devices && !self.session.device_recognised && !proved_email {
            return Ok(Step::VerifyDevice);
        }
        if self.session.second_factor.is_some() || pushed {
            return self.after_factors(user).await;
        }
        let mut factors = Vec::new();
        if self.app.store.has_active_device(user.id, false).await? {
            factors.push("push");
        }
        let enrolled = self.app.store.second_factors(user.id).await?;
        if enrolled.totp {
            factors.push("totp");
        }
        self.backup_codes_left = enrolled.backup_codes_left;
        if enrolled.backup_codes_left > 0 {
            factors.push("backup_code");
        }
        if factors.is_empty() {
            let primary = self.session.primary_method.as_deref();
            if self.session.acr_mfa && matches!(primary, Some("email_code" | "sms_code")) {
                // Step-up after a code-only first factor: the password makes the second.
                return Ok(Step::PasswordAfterCode);
            }
            // MFA required (or a step-up asked for) but nothing enrolled yet: an email code
            // stands in as the second factor.
            if (mfa == Mfa::Required || self.session.acr_mfa) && !proved_email {
                return Ok(Step::VerifyDevice);
            }
            return self.after_factors(user).await;
        }
        Ok(Step::SecondFactor(factors))
    }

    async fn advance(&mut self) -> ApiResult<Json<AuthorizationCode>> {
        self.resume().await?;
        loop {
            match self.next_step().await? {
                Step::Primary if self.wants_push_primary() => self.passwordless_push().await?,
                Step::Primary => self.primary().await?,
                Step::VerifyDevice => self.verify_device().await?,
                Step::PasswordAfterCode => self.step_up_password().await?,
                Step::SecondFactor(factors) => self.second_factor(factors).await?,
                Step::Enroll {
                    skips_left,
                    mandatory,
                } => self.enroll(skips_left, mandatory).await?,
                Step::Done => return self.complete().await,
            }
        }
    }

    /// The credential for this request, if it was not used yet.
    fn take(&mut self, name: &str) -> Option<String> {
        if self.consumed {
            return None;
        }
        let value = self.params.get(name)?.to_owned();
        self.consumed = true;
        Some(value)
    }

    fn method_param(&self) -> Option<&str> {
        if self.consumed {
            None
        } else {
            self.params.get("method")
        }
    }

    async fn primary(&mut self) -> ApiResult<()> {
        let (offered, _) = methods_for(self.app, &self.identifier);
        let chosen: Method = if let Some(name) = self.method_param() {
            offered
                .iter()
                .find(|m| m.name() == name)
                .cloned()
                .ok_or_else(|| {
                    ApiError::invalid_request(format!(
                        "method `{name}` is not offered for this identifier"
                    ))
                })?
        } else if !self.consumed && self.params.get("password").is_some() {
            Method::Password
        } else if let Some(current) = offered.iter().find(|m| m.name() == self.session.step) {
            current.clone()
        } else {
            offered[0].clone()
        };
        let chosen = match (&chosen, &self.identifier) {
            // A code goes to the identifier that was typed.
            (Method::EmailCode, Identifier::Phone(_))
            | (Method::SmsCode, Identifier::Email { .. }) => {
                return Err(ApiError::invalid_request(format!(
                    "method `{}` is not offered for this identifier",
                    chosen.name()
                )))
            }
            _ => chosen,
        };
        match &chosen {
            Method::Federated { provider, .. } | Method::Sso { provider, .. } => {
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::RedirectToWeb,
                    "this method signs in through the browser",
                )
                .web_method(chosen.name(), provider.as_str()))
            }
            Method::Password => {
                if self.params.get("password").is_none() || self.consumed {
                    self.session.step = "password".into();
                    return Err(insufficient(Next::Password));
                }
                let password = self.take("password").unwrap_or_default();
                self.check_password(&password).await?;
                self.session.primary_method = Some("password".into());
                Ok(())
            }
            Method::EmailCode | Method::SmsCode => {
                let name = chosen.name();
                let hint = match &self.identifier {
                    Identifier::Email { address, .. } => mask_email(address),
                    Identifier::Phone(p) => mask_phone(p),
                };
                let recipient = self.user.as_ref().map(|u| match &self.identifier {
                    Identifier::Email { .. } => u.email.clone(),
                    Identifier::Phone(_) => u.phone.clone().unwrap_or_default(),
                });
                let channel = if name == "sms_code" { "sms" } else { "email" };
                self.code_step(
                    name,
                    "sign_in",
                    channel,
                    self.identifier.code_key(),
                    recipient,
                    hint,
                )
                .await?;
                self.session.primary_method = Some(name.into());
                Ok(())
            }
        }
    }

    /// The password as the second step of a step-up sign-in that began with a code.
    async fn step_up_password(&mut self) -> ApiResult<()> {
        let prompted = self.session.step == STEP_UP_PASSWORD;
        let password = if prompted {
            self.take("password")
        } else {
            None
        };
        let Some(password) = password else {
            self.session.step = STEP_UP_PASSWORD.into();
            return Err(insufficient(Next::Password));
        };
        self.check_password(&password).await?;
        self.session.second_factor = Some("password".into());
        Ok(())
    }

    async fn verify_device(&mut self) -> ApiResult<()> {
        let email = self
            .user
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default();
        self.code_step(
            "verify_device",
            "verify_device",
            "email",
            format!("email:{email}"),
            Some(email.clone()),
            mask_email(&email),
        )
        .await?;
        self.session.device_verified = true;
        self.event("identity_verification", "success").await
    }

    /// Sends (or resends) a code for `step`, or checks the code the request carries. Returns Ok
    /// only once the code was accepted.
    async fn code_step(
        &mut self,
        step: &str,
        purpose: &str,
        channel: &str,
        key: String,
        recipient: Option<String>,
        hint: String,
    ) -> ApiResult<()> {
        let config = &self.app.config.codes;
        let prompted = self.session.step == step && self.session.code_id.is_some();
        if prompted {
            if let Some(code) = self.take("code") {
                let code_id = self.session.code_id.unwrap_or_default();
                // The address's attempt first; the code's own attempts are counted atomically
                // with the check (`attempt_code`).
                self.reserve_ip_attempt()?;
                return match self.check_code(code_id, &code).await? {
                    CodeOutcome::Accepted => {
                        self.give_back_ip_attempt();
                        self.session.code_id = None;
                        Ok(())
                    }
                    CodeOutcome::Wrong { attempts_left } => {
                        self.event("sign_in", "wrong_code").await?;
                        Err(ApiError::wrong_credential("code", attempts_left))
                    }
                    CodeOutcome::Dead => {
                        self.give_back_ip_attempt();
                        Err(ApiError::expired(
                            "the code expired or has no attempts left; ask for a new one",
                        ))
                    }
                };
            }
        }
        // Asking for the same method again is how a client resends.
        let resend = prompted && self.method_param() == Some(step);
        let last_sent = if prompted {
            self.app.store.last_code_sent_at(&key, purpose).await?
        } else {
            None
        };
        if prompted && !resend {
            // Asked again without a code: repeat the prompt, send nothing.
            let sent = last_sent.unwrap_or(self.now);
            return Err(insufficient(self.code_next(step, channel, &hint, sent)));
        }
        if resend {
            let ready_at = last_sent.unwrap_or(0) + config.resend_after_s;
            if self.now < ready_at {
                return Err(ApiError::slow_down(
                    ready_at - self.now,
                    "wait before asking for another code",
                ));
            }
        }
        let message = |code: &SecretString| {
            recipient.filter(|r| !r.is_empty()).map(|to| OutboxMessage {
                channel: channel.into(),
                recipient: to,
                subject: match purpose {
                    "verify_device" => "Confirm it's you".into(),
                    _ => "Your sign-in code".into(),
                },
                body: SecretString::new(format!(
                    "Your code is {}. It expires in {} minutes. If you did not ask for it, ignore this message.",
                    code.expose(),
                    config.ttl_s / 60
                )),
            })
        };
        let code_id = send_code(self.app, key, purpose, self.now, message).await?;
        self.session.step = step.into();
        self.session.code_id = Some(code_id);
        Err(insufficient(self.code_next(step, channel, &hint, self.now)))
    }

    fn code_next(&self, step: &str, channel: &str, hint: &str, sent_at: u64) -> Next {
        let config = &self.app.config.codes;
        let code = CodeStep {
            channel: if channel == "sms" {
                Channel::Sms
            } else {
                Channel::Email
            },
            destination_hint: hint.to_owned(),
            length: config.length,
            expires_at: sent_at + config.ttl_s,
            resend_after: (sent_at + config.resend_after_s).saturating_sub(self.now),
        };
        match step {
            "sms_code" => Next::SmsCode(code),
            "verify_device" => Next::VerifyDevice(code),
            _ => Next::EmailCode(code),
        }
    }

    async fn check_code(&self, code_id: i64, code: &str) -> ApiResult<CodeOutcome> {
        let candidate: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let hash = self.app.hasher.hash(&code_id.to_string(), &candidate);
        Ok(self
            .app
            .store
            .attempt_code(code_id, &hash, self.now, self.app.config.codes.max_attempts)
            .await?)
    }

    /// Counts one attempt of `caller.ip` before a credential is checked (in memory, under the
    /// throttle's mutex); `slow_down` without checking anything when the address is at its limit.
    fn reserve_ip_attempt(&self) -> ApiResult<()> {
        self.app
            .throttle
            .reserve(&self.caller.ip, self.now)
            .map_err(|retry_after| {
                ApiError::slow_down(retry_after, "too many failed attempts from this address")
            })
    }

    /// The credential was right (or never checked): the address gets its attempt back.
    fn give_back_ip_attempt(&self) {
        self.app.throttle.give_back(&self.caller.ip, self.now);
    }

    /// Reserves one attempt before a password or second factor is checked (see
    /// [`reserve_attempt`]); answers `locked` (recorded in the history) when the account is.
    async fn reserve_attempt(&self) -> ApiResult<Reservation> {
        match reserve_attempt(self.app, &self.caller.ip, self.failure_key(), self.now).await? {
            Ok(reservation) => Ok(reservation),
            Err(until) => {
                self.event("sign_in", "locked").await?;
                Err(ApiError::locked(until.saturating_sub(self.now)))
            }
        }
    }

    /// A wrong credential: its reserved attempt stays counted; the answer is `locked` when it
    /// was the last one allowed.
    async fn reject_attempt(
        &self,
        reservation: Reservation,
        what: &str,
        result: &str,
    ) -> ApiResult<ApiError> {
        let state = reservation.wrong(self.app).await?;
        self.event("sign_in", result).await?;
        let max = self.app.config.lockout.max_failures;
        Ok(match state.locked_until {
            Some(until) => ApiError::locked(until.saturating_sub(self.now)),
            None => ApiError::wrong_credential(what, max.saturating_sub(state.failures)),
        })
    }

    async fn check_password(&mut self, password: &str) -> ApiResult<()> {
        let reservation = self.reserve_attempt().await?;
        if password.len() > self.app.config.password.max_length {
            return Err(self
                .reject_attempt(reservation, "password", "wrong_password")
                .await?);
        }
        let stored = self.user.as_ref().and_then(|u| u.password_hash.clone());
        let matched = self.app.passwords.verify(password, stored.as_deref()).await;
        if matched {
            reservation.right(self.app).await
        } else {
            Err(self
                .reject_attempt(reservation, "password", "wrong_password")
                .await?)
        }
    }

    async fn second_factor(&mut self, factors: Vec<&'static str>) -> ApiResult<()> {
        let requested = self.method_param().map(str::to_owned);
        if let Some(name) = &requested {
            if !factors.contains(&name.as_str()) {
                return Err(ApiError::invalid_request(format!(
                    "`{name}` is not one of the second factors offered: {}",
                    factors.join(", ")
                )));
            }
            self.session.second_factor_choice = Some(name.clone());
            self.session.step = name.clone();
        }
        let choice = match (&self.session.second_factor_choice, factors.as_slice()) {
            (Some(choice), _) if factors.contains(&choice.as_str()) => choice.clone(),
            (_, [only]) => (*only).to_owned(),
            _ => {
                self.session.step = "choose_second_factor".into();
                return Err(insufficient(Next::ChooseSecondFactor {
                    factors: factors.iter().filter_map(|f| second_factor(f)).collect(),
                }));
            }
        };
        if choice == "push" {
            return self.push_factor(requested.as_deref() == Some("push")).await;
        }
        let prompted = self.session.step == choice;
        let code = if prompted { self.take("code") } else { None };
        let Some(code) = code else {
            self.session.step = choice.clone();
            let next = if choice == "totp" {
                Next::Totp { length: 6 }
            } else {
                Next::BackupCode {
                    remaining: self.backup_codes_left,
                }
            };
            return Err(insufficient(next));
        };
        if choice == "totp" {
            self.check_totp(&code).await?;
        } else {
            self.check_backup_code(&code).await?;
        }
        self.session.second_factor = Some(choice);
        Ok(())
    }

    fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |u| u.id)
    }

    async fn check_totp(&self, code: &str) -> ApiResult<()> {
        let user_id = self.user_id();
        let Some(credential) = self
            .app
            .store
            .totp(user_id)
            .await?
            .filter(|t| t.confirmed && !t.suspended)
        else {
            return Err(ApiError::invalid_request("no TOTP credential is enrolled"));
        };
        let totp = totp_of(&credential.secret);
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let reservation = self.reserve_attempt().await?;
        match totp.verify(&code, self.now, self.app.config.totp.window_steps) {
            Ok(step) => {
                if self.app.store.accept_totp_step(user_id, step).await? {
                    reservation.right(self.app).await
                } else {
                    // A replay is no right answer: its attempt stays counted.
                    let refusal = self
                        .reject_attempt(reservation, "code", "replayed_code")
                        .await?;
                    if refusal.code() == ErrorCode::Locked {
                        return Err(refusal);
                    }
                    Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorCode::WrongCredential,
                        "this code was already used; wait for the next one",
                    )
                    .reason("replayed"))
                }
            }
            Err(_) => Err(self
                .reject_attempt(reservation, "code", "wrong_code")
                .await?),
        }
    }

    async fn check_backup_code(&self, code: &str) -> ApiResult<()> {
        let user_id = self.user_id();
        let hash = backup_code_hash(self.app, user_id, code);
        let reservation = self.reserve_attempt().await?;
        if self
            .app
            .store
            .use_backup_code(user_id, &hash, self.now)
            .await?
        {
            reservation.right(self.app).await
        } else {
            Err(self
                .reject_attempt(reservation, "backup code", "wrong_code")
                .await?)
        }
    }

    async fn complete(&mut self) -> ApiResult<Json<AuthorizationCode>> {
        let Some(user_id) = self.user.as_ref().map(|u| u.id) else {
            return Err(ApiError::invalid_session());
        };
        let code = random_token("ac_");
        let method = self.session.primary_method.clone().unwrap_or_default();
        let factors = self.factors();
        self.save_new().await?;
        self.app
            .store
            .complete_sign_in(
                NewAuthorizationCode {
                    hash: token_hash(code.expose()),
                    auth_session_id: self.session.id,
                    client_id: self.session.client_id.clone(),
                    user_id,
                    code_challenge: self.session.code_challenge.clone(),
                    method: method.clone(),
                    factors: factors.clone(),
                    issue_device_token: !self.session.device_recognised,
                    expires_at: self.now + self.app.config.tokens.authorization_code_ttl_s,
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                },
                SignInEvent {
                    user_id,
                    at: self.now,
                    kind: "sign_in".into(),
                    method,
                    factors,
                    ip: self.caller.ip.clone(),
                    user_agent: self.caller.user_agent.clone(),
                    result: "success".into(),
                },
            )
            .await?;
        self.session.step = "done".into();
        Ok(Json(AuthorizationCode {
            authorization_code: code.expose().to_owned(),
        }))
    }
}

/// One attempt reserved for an address and an account before a credential is checked; settle
/// it with [`Reservation::right`] or [`Reservation::wrong`]. Dropped unsettled (a cancelled
/// request), it stays counted as a failure.
#[must_use]
pub(crate) struct Reservation {
    ip: String,
    key: String,
    now: u64,
}

/// How long a request waits for the account's attempts in flight to be settled before it is
/// told to try again.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reserves one attempt for `ip` (in memory) and for the account `key` (in the store, one write
/// transaction) *before* a credential is checked, so parallel requests get no extra checks.
/// At the address's limit: `slow_down`. Locked: `Err(until)`, nothing is checked. When every
/// attempt left is being checked by other requests, this one waits (up to [`BUSY_WAIT`]) for
/// them to settle: a burst of right answers all gets through, a burst of wrong ones gets
/// `max_failures` checks and then `locked`.
pub(crate) async fn reserve_attempt(
    app: &AppState,
    ip: &str,
    key: String,
    now: u64,
) -> ApiResult<Result<Reservation, u64>> {
    let lockout = &app.config.lockout;
    let deadline = tokio::time::Instant::now() + BUSY_WAIT;
    loop {
        app.throttle.reserve(ip, now).map_err(|retry_after| {
            ApiError::slow_down(retry_after, "too many failed attempts from this address")
        })?;
        let settled = app.throttle.settled(&key).notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        let attempt = app
            .store
            .reserve_attempt(&key, now, lockout.max_failures, lockout.lock_s)
            .await;
        match attempt {
            Ok(Attempt::Reserved(_)) => {
                return Ok(Ok(Reservation {
                    ip: ip.to_owned(),
                    key,
                    now,
                }))
            }
            Ok(Attempt::Locked { until }) => {
                app.throttle.give_back(ip, now);
                return Ok(Err(until));
            }
            Ok(Attempt::Busy) => {
                app.throttle.give_back(ip, now);
                if tokio::time::Instant::now() >= deadline {
                    return Err(ApiError::slow_down(
                        1,
                        "other attempts for this account are being checked; try again",
                    ));
                }
                // Woken when one settles; the timeout covers other server instances.
                let _ = tokio::time::timeout(std::time::Duration::from_millis(100), settled).await;
            }
            Err(error) => {
                app.throttle.give_back(ip, now);
                return Err(error.into());
            }
        }
    }
}

impl Reservation {
    /// The credential was right: the address gets its attempt back and the account's run ends.
    pub(crate) async fn right(self, app: &AppState) -> ApiResult<()> {
        self.give_back_ip(app);
        let cleared = app.store.clear_password_failures(&self.key).await;
        app.throttle.settled(&self.key).notify_waiters();
        Ok(cleared?)
    }

    /// The credential was wrong: the attempt stays counted (and locks the account when it was
    /// the last one). Returns the run as it now stands.
    pub(crate) async fn wrong(self, app: &AppState) -> ApiResult<FailureState> {
        let lockout = &app.config.lockout;
        let state = app
            .store
            .settle_wrong_attempt(&self.key, self.now, lockout.max_failures, lockout.lock_s)
            .await;
        app.throttle.settled(&self.key).notify_waiters();
        Ok(state?)
    }

    /// Nothing was checked after all (the code had died): the address gets its attempt back;
    /// the account's stays counted (settle it with [`Reservation::wrong`]).
    pub(crate) fn give_back_ip(&self, app: &AppState) {
        app.throttle.give_back(&self.ip, self.now);
    }
}

pub(crate) fn totp_of(secret: &[u8]) -> authcore::otp::Totp {
    use authcore::otp::{Algorithm, Digits, Period, Secret, Totp};
    Totp::new(
        Secret::from_bytes(secret.to_vec()),
        Algorithm::Sha1,
        Digits::SIX,
        Period::DEFAULT,
    )
}

pub(crate) fn backup_code_hash(app: &AppState, user_id: i64, code: &str) -> Vec<u8> {
    app.hasher.hash(
        &format!("backup:{user_id}"),
        &crate::secrets::normalise_backup_code(code),
    )
}

/// Issues a fresh code for `key` and `purpose` within the configured send limits, queues the
/// message `message` builds from it (none for unknown identifiers: the answer looks the same) and
/// returns the code's id. Only the code's hash is stored.
pub(crate) async fn send_code(
    app: &AppState,
    key: String,
    purpose: &str,
    now: u64,
    message: impl FnOnce(&SecretString) -> Option<OutboxMessage>,
) -> ApiResult<i64> {
    let config = &app.config.codes;
    let code = random_digits(config.length);
    let message = message(&code);
    let hasher = app.hasher.clone();
    let outcome = app
        .store
        .issue_code(
            IssueCode {
                key,
                purpose: purpose.into(),
                now,
                expires_at: now + config.ttl_s,
                max_sends: config.max_sends,
                send_window_s: config.send_window_s,
            },
            Box::new(move |id| hasher.hash(&id.to_string(), code.expose())),
            message,
        )
        .await?;
    match outcome {
        IssueOutcome::Capped { retry_after } => Err(ApiError::slow_down(
            retry_after,
            "too many codes were sent; wait before asking for another",
        )),
        IssueOutcome::Issued { code_id } => {
            app.outbox.notify_one();
            Ok(code_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_normalise() {
        assert_eq!(
            Identifier::parse(" Alice@Acme.Example ").unwrap(),
            Identifier::Email {
                address: "alice@acme.example".into(),
                domain: "acme.example".into()
            }
        );
        assert_eq!(
            Identifier::parse("+1 555 555-0101").unwrap(),
            Identifier::Phone("+15555550101".into())
        );
        assert!(Identifier::parse("alice").is_err());
        assert!(Identifier::parse("+12").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("nora@acme.example"), "n***@acme.example");
        assert_eq!(mask_phone("+15555550101"), "+*******0101");
    }
}
