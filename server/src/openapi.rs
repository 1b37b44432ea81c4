//! `GET /openapi.json`: an OpenAPI 3.1 description of every endpoint, built from one table (a test
//! checks every routed path appears here).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::AppState;

struct Endpoint {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// `form`, `json` or `none`.
    body: &'static str,
    fields: &'static [&'static str],
    bearer: bool,
    errors: &'static [&'static str],
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: "get", path: "/.well-known/openid-configuration", summary: "Discovery document with the extension endpoints", body: "none", fields: &[], bearer: false, errors: &[] },
    Endpoint { method: "get", path: "/openapi.json", summary: "This document", body: "none", fields: &[], bearer: false, errors: &[] },
    Endpoint { method: "post", path: "/v1/login/methods", summary: "Ordered sign-in methods for an identifier (same shape for unknown identifiers)", body: "json", fields: &["identifier"], bearer: false, errors: &["invalid_request"] },
    Endpoint { method: "post", path: "/v1/authorize-challenge", summary: "First-party authorization challenge: answers an authorization_code or insufficient_authorization with auth_session and next", body: "form", fields: &["client_id", "identifier", "code_challenge", "code_challenge_method", "auth_session", "method", "password", "code", "device_token", "wait", "acr_values"], bearer: false, errors: &["insufficient_authorization", "invalid_request", "invalid_client", "invalid_session", "wrong_credential", "expired", "slow_down", "locked", "redirect_to_web", "access_denied", "number_mismatch", "push_blocked", "enrollment_required"] },
    Endpoint { method: "post", path: "/v1/token", summary: "Token endpoint: authorization_code (+ PKCE S256 code_verifier) and refresh_token (rotating, reuse revokes the family)", body: "form", fields: &["grant_type", "client_id", "code", "code_verifier", "refresh_token"], bearer: false, errors: &["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"] },
    Endpoint { method: "post", path: "/v1/revoke", summary: "Token revocation (RFC 7009): revokes the session of an access or refresh token", body: "form", fields: &["client_id", "token", "token_type_hint"], bearer: false, errors: &["invalid_request", "invalid_client"] },
    Endpoint { method: "post", path: "/v1/logout", summary: "Ends the session of the presented access token", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "post", path: "/v1/logout-all", summary: "Ends every session of the user on every device; answers revoked_sessions and recent_devices (devices added in the review window)", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "get", path: "/v1/userinfo", summary: "The signed-in user", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "get", path: "/v1/me/sign-ins", summary: "Sign-in history: time, method, factors, IP, user agent, result", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "get", path: "/v1/me/security-events", summary: "Security events (devices, TOTP, backup codes, password, reset review), newest first", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "post", path: "/v1/me/totp/confirm-suspended", summary: "Keeps the TOTP credential a password reset suspended (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "invalid_request"] },
    Endpoint { method: "post", path: "/v1/me/devices/{id}/confirm", summary: "Keeps a device a password reset suspended (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "not_found", "invalid_request"] },
    Endpoint { method: "post", path: "/v1/me/totp", summary: "New pending TOTP credential as an otpauth URI (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication"] },
    Endpoint { method: "delete", path: "/v1/me/totp", summary: "Removes the TOTP credential (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "not_found"] },
    Endpoint { method: "post", path: "/v1/me/password", summary: "Changes the password (needs a stepped-up session and the current password); the user's other sessions end", body: "json", fields: &["current_password", "new_password"], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "wrong_credential", "locked", "weak_password"] },
    Endpoint { method: "post", path: "/v1/me/totp/confirm", summary: "Activates the pending TOTP credential with a current code", body: "json", fields: &["code"], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "invalid_request", "wrong_credential"] },
    Endpoint { method: "post", path: "/v1/me/backup-codes", summary: "Ten new single-use backup codes, shown once; older ones stop working (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication"] },
    Endpoint { method: "post", path: "/v1/password/forgot", summary: "Emails a single-use reset code; same answer whether the account exists", body: "json", fields: &["identifier"], bearer: false, errors: &["invalid_request", "slow_down"] },
    Endpoint { method: "post", path: "/v1/password/reset", summary: "Sets a new password with the emailed code; revokes every session", body: "json", fields: &["identifier", "code", "new_password"], bearer: false, errors: &["invalid_request", "wrong_credential", "expired", "weak_password"] },
    Endpoint { method: "post", path: "/v1/me/authenticators", summary: "Starts an authenticator enrollment: QR payload authcore://enroll?..., the activation code in groups, the server URL (code: 60 bits, single use, 10 minutes); needs a stepped-up session", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "slow_down"] },
    Endpoint { method: "get", path: "/v1/me/authenticators/{id}", summary: "Enrollment status (waiting_for_device, approve_test with the number to show, completed, failed, expired); ?wait=N&status=S long-polls while the status is S", body: "none", fields: &["wait (query)", "status (query)"], bearer: true, errors: &["invalid_token", "not_found", "invalid_request"] },
    Endpoint { method: "get", path: "/v1/me/devices", summary: "The user's authenticator devices", body: "none", fields: &[], bearer: true, errors: &["invalid_token"] },
    Endpoint { method: "get", path: "/v1/me/devices/{id}", summary: "One authenticator device", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "not_found"] },
    Endpoint { method: "patch", path: "/v1/me/devices/{id}", summary: "Renames a device or replaces its OS push token", body: "json", fields: &["display_name", "push_token"], bearer: true, errors: &["invalid_token", "not_found", "invalid_request"] },
    Endpoint { method: "delete", path: "/v1/me/devices/{id}", summary: "Removes a device: it can no longer answer push requests (needs a stepped-up session)", body: "none", fields: &[], bearer: true, errors: &["invalid_token", "insufficient_user_authentication", "not_found"] },
    Endpoint { method: "post", path: "/v1/devices/activate", summary: "Registers a device with an activation code and its P-256 key; signed by that key (Authcore-Timestamp, Authcore-Nonce, Authcore-Signature); answers the device id, the test approval, whether the attestation verified and whether phone sign-in will reach the device", body: "json", fields: &["activation_code", "public_key", "display_name", "platform", "push_token", "user_verification", "attestation"], bearer: false, errors: &["invalid_request", "invalid_attestation", "invalid_activation_code", "expired", "invalid_signature", "stale_request"] },
    Endpoint { method: "get", path: "/v1/devices/challenges", summary: "Signed device request: pending push requests for this device; ?wait=N long-polls and wakes at once when one is created", body: "none", fields: &["wait (query)"], bearer: false, errors: &["invalid_request", "unknown_device", "invalid_signature", "stale_request", "replayed_request"] },
    Endpoint { method: "post", path: "/v1/devices/challenges/{id}", summary: "Signed device request: approve with the number, deny, or report_fraud; the body's signature covers the canonical decision message", body: "json", fields: &["decision", "number", "signature"], bearer: false, errors: &["invalid_request", "unknown_device", "invalid_signature", "stale_request", "replayed_request", "unknown_request", "already_answered", "expired", "number_mismatch"] },
    Endpoint { method: "get", path: "/dev/outbox", summary: "Recorded messages (only with --dev)", body: "none", fields: &["to (query)"], bearer: false, errors: &[] },
];

fn document_json(issuer: &str) -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut op = json!({
            "summary": e.summary,
            "responses": {
                "200": {"description": "success", "content": {"application/json": {"schema": {"type": "object"}}}},
                "4XX": {"description": format!("error: {}", e.errors.join(", ")), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if e.bearer {
            op["security"] = json!([{"bearer": []}]);
        }
        if e.body != "none" {
            let media = if e.body == "form" {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let properties: Map<String, Value> = e
                .fields
                .iter()
                .map(|f| ((*f).to_owned(), json!({"type": "string"})))
                .collect();
            op["requestBody"] = json!({"required": true, "content": {media: {"schema": {"type": "object", "properties": properties}}}});
        }
        let entry = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        entry[e.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "authcore identity server", "version": env!("CARGO_PKG_VERSION"), "description": "See docs/protocol.md for the full contract."},
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "error_description"], "properties": {
                "error": {"type": "string"}, "error_description": {"type": "string"},
                "attempts_left": {"type": "integer"}, "retry_after": {"type": "integer"},
                "auth_session": {"type": "string"}, "next": {"type": "object"},
                "max_age": {"type": "integer"}, "acr_values": {"type": "string"}
            }}}
        }
    })
}

pub async fn document(State(app): State<AppState>) -> Json<Value> {
    Json(document_json(&app.issuer))
}
