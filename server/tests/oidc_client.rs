//! A standard OpenID Connect library no one here wrote (authlib, PyPI) as the relying party:
//! discovery, the native sign-in with PKCE, the ID token validated against the JWK set
//! (signature, iss, aud, exp, nonce), userinfo, refresh and revocation
//! (`tests/peers/oidc_rp.py`). authlib must be importable by `$AUTHCORE_PYTHON` (default
//! `python3`; scripts/setup-python.sh installs it); if not, this fails.
//!
//! With an upstream id, the same through our browser `authorization_endpoint` (`idp`) and node
//! oidc-provider's forms (`tests/upstream`).

mod common;
mod upstream;

use common::*;

/// Runs oidc_rp.py against `base` with `args`: its standard output.
async fn authlib(base: &str, args: &[&str]) -> String {
    let python = std::env::var("AUTHCORE_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc_rp.py");
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(base)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; run scripts/setup-python.sh and set AUTHCORE_PYTHON")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "authlib's relying party failed (is authlib installed for {python}? scripts/setup-python.sh):\n{stdout}\n{stderr}"
    );
    stdout.into_owned()
}

const CHECKS: [&str; 9] = [
    "discovery ok",
    "jwks ok",
    "code exchanged ok",
    "id token ok: sub=",
    "wrong nonce refused ok: invalid_claim",
    "wrong aud refused ok: invalid_claim",
    "userinfo ok",
    "refresh ok",
    "revocation ok",
];

#[tokio::test]
async fn authlib_validates_our_id_tokens_and_uses_userinfo_refresh_and_revocation() {
    let t = start().await;
    let stdout = authlib(&t.base, &[CLIENT, ALICE.0, ALICE.1]).await;
    for check in CHECKS {
        assert!(stdout.contains(check), "missing {check:?} in:\n{stdout}");
    }
}

#[tokio::test]
async fn authlib_signs_in_through_our_authorization_endpoint_and_an_upstream() {
    let (t, _node) = upstream::globex_with_node("", Some("rp-secret")).await;
    let stdout = authlib(
        &t.base,
        &[CLIENT, CAROL.0, "-", "globex-okta", "okta-carol"],
    )
    .await;
    for check in ["browser redirect ok"].iter().chain(CHECKS.iter()) {
        assert!(stdout.contains(check), "missing {check:?} in:\n{stdout}");
    }
}
