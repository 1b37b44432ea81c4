//! The organisation admin API's foundation: Globex's owner, admin and helpdesk list the
//! organisation's users with their roles; a member, a user of no organisation and a session that
//! is not stepped up are refused with their exact errors; another organisation's users never
//! show.

mod common;

use authcore_server::Config;
use common::*;
use serde_json::json;

const HANA: (&str, &str) = ("hana@globex.example", "hana-demo-password");
const IVAN: (&str, &str) = ("ivan@globex.example", "ivan-demo-password");
const JUNE: (&str, &str) = ("june@globex.example", "june-demo-password");
const KIM: (&str, &str) = ("kim@example.org", "kim-demo-password");

fn admin_config() -> Config {
    let mut toml = demo_toml().replace(
        "email = \"carol@globex.example\"",
        "email = \"carol@globex.example\"\norg_role = \"owner\"",
    );
    for (user, role) in [
        (HANA, Some("admin")),
        (IVAN, Some("helpdesk")),
        (JUNE, None),
        (KIM, None),
    ] {
        toml.push_str(&format!(
            "\n[[dev_users]]\nemail = \"{}\"\nname = \"{}\"\npassword = \"{}\"\ntotp_secret = \"{CAROL_TOTP}\"\n{}",
            user.0,
            user.0.split('@').next().unwrap(),
            user.1,
            role.map(|r| format!("org_role = \"{r}\"\n")).unwrap_or_default()
        ));
    }
    let mut config = Config::from_toml(&toml).expect("config with organisation roles");
    config.argon2.memory_kib = 1024;
    config.argon2.iterations = 1;
    // the test server answers on loopback, not on Globex's own sign-in host
    for org in &mut config.orgs {
        org.sign_in_host = None;
    }
    config
}

#[tokio::test]
async fn owner_admin_and_helpdesk_list_the_organisation_s_users() {
    let t = start_with(admin_config(), "sqlite::memory:", true).await;
    for user in [CAROL, HANA, IVAN] {
        let tokens = t.sign_in_mfa(user, Some(CAROL_TOTP)).await;
        let (status, body) = t.get("/v1/admin/users", Some(&tokens.access)).await;
        assert_eq!(status, 200, "{}: {body}", user.0);
        let users: Vec<(String, String)> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["email"].as_str().unwrap().to_owned(),
                    u["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(body["organization"], "globex.example");
        // Globex's users only (no Acme user, no example.org user), members included.
        assert_eq!(
            users,
            [
                ("carol@globex.example", "owner"),
                ("dave@globex.example", "member"),
                ("hana@globex.example", "admin"),
                ("ivan@globex.example", "helpdesk"),
                ("june@globex.example", "member"),
            ]
            .map(|(e, r)| (e.to_owned(), r.to_owned()))
        );
    }
}

#[tokio::test]
async fn a_member_is_refused() {
    let t = start_with(admin_config(), "sqlite::memory:", true).await;
    let june = t.sign_in_mfa(JUNE, Some(CAROL_TOTP)).await;
    let (status, body) = t.get("/v1/admin/users", Some(&june.access)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": "permission_denied",
               "error_description": "your role (member) may not list the organisation's users"})
    );
}

#[tokio::test]
async fn a_user_of_no_organisation_is_refused() {
    let t = start_with(admin_config(), "sqlite::memory:", true).await;
    let kim = t.sign_in_mfa(KIM, Some(CAROL_TOTP)).await;
    let (status, body) = t.get("/v1/admin/users", Some(&kim.access)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"error": "permission_denied",
               "error_description": "your account belongs to no organisation"})
    );
}

#[tokio::test]
async fn an_admin_session_that_is_not_stepped_up_is_refused() {
    let t = start_with(admin_config(), "sqlite::memory:", true).await;
    let hana = t.sign_in_mfa(HANA, Some(CAROL_TOTP)).await;
    t.server.clock().advance(601);
    let (_, fresh) = t.refresh(hana.refresh).await;
    let (status, body) = t
        .get(
            "/v1/admin/users",
            Some(fresh["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "insufficient_user_authentication");
    let (status, body) = t.get("/v1/admin/users", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
}
