//! Sessions: single-flight refresh, reuse detection, log out, log out everywhere, restore after
//! an app restart, second-factor enrollment from a signed-in session.

use std::sync::Arc;

use authcore::otp::uri;
use authcore::session::{EndReason, Session, SessionState};
use authcore::signin::{MethodKind, SignInState};
use authcore::store::SecureStore;
use authcore::{AuthClient, ClientError};
use authcore_e2e::*;

async fn sign_in_with_password(app: &AuthClient, user: (&str, &str)) -> Session {
    let flow = app.sign_in();
    let SignInState::ChooseMethod { methods, .. } = flow.start(user.0).await.unwrap() else {
        panic!("no method list")
    };
    let password = methods
        .into_iter()
        .find(|m| m.kind == MethodKind::Password)
        .unwrap();
    flow.choose_method(&password).await.unwrap();
    match flow.submit_password(user.1).await.unwrap() {
        SignInState::Done { session } => session,
        other => panic!("not signed in: {other:?}"),
    }
}

fn app_through(proxy: &Proxy) -> AuthClient {
    app_at(proxy.addr, "proxied", std::time::Duration::from_secs(30))
}

async fn fifty_calls(session: &Session) {
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.user_info().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().email, ALICE.0);
    }
}

#[tokio::test]
async fn fifty_calls_with_an_access_token_the_server_expired_cause_one_refresh() {
    let world = start_server().await;
    let proxy = Proxy::start(world.server.addr(), 0, b"grant_type=refresh_token").await;
    let session = sign_in_with_password(&app_through(&proxy), ALICE).await;

    // the server's clock passes the access token's 15 minutes; the app's does not
    world.server.clock().advance(16 * 60);
    fifty_calls(&session).await;
    assert_eq!(proxy.seen(), 1, "refresh requests on the wire");
    assert_eq!(session.refresh_count(), 1);
    assert_eq!(session.state(), SessionState::Active);
    world.stop().await;
}

#[tokio::test]
async fn fifty_calls_with_an_access_token_the_app_knows_expired_cause_one_refresh() {
    let mut config = test_config();
    // A 4 s token is refreshed from its 3rd second on (a quarter before expiry). The app's clock
    // counts whole seconds, so a 1 s token went stale again at the next second boundary and a
    // loaded machine saw a second, legitimate refresh; the refreshed 4 s token stays fresh for at
    // least 2 s, enough for the fifty calls.
    config.tokens.access_token_ttl_s = 4;
    let world = start(authcore_server::ServerOptions::new(
        config,
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await;
    let proxy = Proxy::start(world.server.addr(), 0, b"grant_type=refresh_token").await;
    let session = sign_in_with_password(&app_through(&proxy), ALICE).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    fifty_calls(&session).await;
    assert_eq!(proxy.seen(), 1, "refresh requests on the wire");
    world.stop().await;
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_session_for_both_copies() {
    let world = start_server().await;
    let store = device_store("alice-phone");
    let app = world.app_with(store.clone());
    let session = sign_in_with_password(&app, ALICE).await;
    let stolen: Vec<u8> = store.get("session/authcore-demo-app").unwrap().unwrap();

    // the real app refreshes (its access token expired on the server)
    world.server.clock().advance(16 * 60);
    session.user_info().await.unwrap();

    // a copy of the old tokens refreshes with the already-rotated refresh token
    let thief_store = device_store("thief");
    thief_store
        .put("session/authcore-demo-app", &stolen)
        .unwrap();
    let thief = world
        .app_with(thief_store.clone())
        .saved_session()
        .unwrap()
        .unwrap();
    assert_eq!(
        thief.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    assert_eq!(
        thief.state(),
        SessionState::Ended {
            reason: EndReason::Revoked
        }
    );
    assert_eq!(thief_store.get("session/authcore-demo-app").unwrap(), None);

    // the whole family is revoked: the real app finds out at its next refresh
    let mut watch = session.watch_state();
    world.server.clock().advance(16 * 60);
    assert_eq!(
        session.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    watch.changed().await.unwrap();
    assert_eq!(
        *watch.borrow(),
        SessionState::Ended {
            reason: EndReason::Revoked
        }
    );
    world.stop().await;
}

#[tokio::test]
async fn logout_ends_this_session_and_forgets_its_tokens() {
    let world = start_server().await;
    let store = device_store("alice-phone");
    let app = world.app_with(store.clone());
    let session = sign_in_with_password(&app, ALICE).await;
    let other = sign_in_with_password(&world.app("alice-tablet"), ALICE).await;
    let token = session.access_token().await.unwrap();

    session.logout().await.unwrap();
    assert_eq!(
        session.state(),
        SessionState::Ended {
            reason: EndReason::LoggedOut
        }
    );
    assert!(app.saved_session().unwrap().is_none());
    assert_eq!(
        session.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    // the server refuses the old token too
    let refused = reqwest::Client::new()
        .get(format!("{}/v1/userinfo", world.base))
        .bearer_auth(token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // the tablet is still signed in; logging out twice is harmless
    other.user_info().await.unwrap();
    session.logout().await.unwrap();
    world.stop().await;
}

#[tokio::test]
async fn logout_everywhere_ends_the_sessions_of_every_device() {
    let world = start_server().await;
    let phone = sign_in_with_password(&world.app("alice-phone"), ALICE).await;
    let tablet = sign_in_with_password(&world.app("alice-tablet"), ALICE).await;

    assert_eq!(phone.logout_everywhere().await.unwrap(), 2);
    assert_eq!(
        phone.state(),
        SessionState::Ended {
            reason: EndReason::LoggedOut
        }
    );
    assert_eq!(
        tablet.user_info().await.unwrap_err(),
        ClientError::SessionEnded
    );
    assert_eq!(
        tablet.state(),
        SessionState::Ended {
            reason: EndReason::Revoked
        }
    );
    world.stop().await;
}

#[tokio::test]
async fn the_session_survives_an_app_restart() {
    let world = start_server().await;
    let store: Arc<dyn SecureStore> = device_store("alice-phone");
    let session_id = {
        let app = world.app_with(store.clone());
        assert!(app.saved_session().unwrap().is_none());
        sign_in_with_password(&app, ALICE)
            .await
            .session_id()
            .to_owned()
    };
    let restarted = world.app_with(store);
    let session = restarted.saved_session().unwrap().expect("a saved session");
    assert_eq!(session.session_id(), session_id);
    assert_eq!(session.user_info().await.unwrap().email, ALICE.0);
    world.stop().await;
}

#[tokio::test]
async fn a_signed_in_user_adds_totp_and_new_backup_codes() {
    let world = start_server().await;
    let app = world.app("alice-phone");
    let weak = sign_in_with_password(&app, ALICE).await;
    // security changes need a recent sign-in with a second factor: the password + emailed code
    let session = step_up(&world, &weak, ALICE, None).await;

    let pending = session.add_totp().await.unwrap();
    assert_eq!(format!("{pending:?}"), "TotpEnrollment(<redacted>)");
    let account = uri::parse(&pending.otpauth_uri).unwrap().account;
    let wrong = session.confirm_totp("000000").await;
    let code = totp_at(&account.secret.to_base32(), world.now());
    if code != "000000" {
        assert!(matches!(
            wrong.unwrap_err(),
            ClientError::WrongCredential { .. }
        ));
    }
    session.confirm_totp(&code).await.unwrap();

    // now that she has a second factor, the next change asks for it (a code of the next step:
    // a step is never accepted twice)
    world.server.clock().advance(30);
    let secret = account.secret.to_base32();
    let session = step_up(&world, &session, ALICE, Some(secret.as_str())).await;
    let codes = session.regenerate_backup_codes().await.unwrap();
    assert_eq!(codes.0.len(), 10);
    assert_eq!(format!("{codes:?}"), "BackupCodes(10 codes)");

    // her next sign-in asks for a second factor
    let flow = app.sign_in();
    let SignInState::ChooseMethod { methods, .. } = flow.start(ALICE.0).await.unwrap() else {
        panic!()
    };
    flow.choose_method(
        methods
            .iter()
            .find(|m| m.kind == MethodKind::Password)
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(matches!(
        flow.submit_password(ALICE.1).await.unwrap(),
        SignInState::ChooseSecondFactor { .. }
    ));
    world.stop().await;
}
