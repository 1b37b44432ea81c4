//! Every refusal is the protocol's JSON error, and every answer that can carry a code, secret or
//! token says `Cache-Control: no-store` (issue 10, point 8). Malformed requests of every kind go
//! to every route: bad JSON, a wrong content type, a missing body, an oversize body, a bad
//! query, an unknown method, a bad path parameter.

mod common;

use common::*;
use reqwest::Method;
use serde_json::Value;

/// Every route: method, path (`{id}` where a parameter goes), and whether it takes a body.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/login/methods"),
    ("POST", "/v1/authorize-challenge"),
    ("POST", "/v1/token"),
    ("POST", "/v1/revoke"),
    ("POST", "/v1/logout"),
    ("POST", "/v1/logout-all"),
    ("GET", "/v1/userinfo"),
    ("GET", "/v1/me/sign-ins"),
    ("POST", "/v1/me/totp"),
    ("POST", "/v1/me/totp/confirm"),
    ("POST", "/v1/me/backup-codes"),
    ("POST", "/v1/password/forgot"),
    ("POST", "/v1/password/reset"),
    ("POST", "/v1/me/authenticators"),
    ("GET", "/v1/me/authenticators/{id}"),
    ("GET", "/v1/me/devices"),
    ("GET", "/v1/me/devices/{id}"),
    ("PATCH", "/v1/me/devices/{id}"),
    ("DELETE", "/v1/me/devices/{id}"),
    ("POST", "/v1/devices/activate"),
    ("GET", "/v1/devices/challenges"),
    ("POST", "/v1/devices/challenges/{id}"),
    ("GET", "/dev/outbox"),
];

struct Malformed {
    what: &'static str,
    method: Option<&'static str>,
    path_id: &'static str,
    query: &'static str,
    content_type: Option<&'static str>,
    body: Option<Vec<u8>>,
}

fn malformed_cases(takes_id: bool) -> Vec<Malformed> {
    let plain = |what, content_type, body: Option<&[u8]>| Malformed {
        what,
        method: None,
        path_id: "1",
        query: "",
        content_type,
        body: body.map(<[u8]>::to_vec),
    };
    let mut cases = vec![
        plain(
            "bad JSON",
            Some("application/json"),
            Some(b"{\"identifier\": "),
        ),
        plain(
            "JSON of the wrong shape",
            Some("application/json"),
            Some(b"[1, 2, {\"a\": null}]"),
        ),
        plain(
            "bad form",
            Some("application/x-www-form-urlencoded"),
            Some(b"a=%zz&&=&b"),
        ),
        plain(
            "wrong content type",
            Some("text/plain"),
            Some(b"identifier=alice"),
        ),
        plain("missing body", None, None),
        plain(
            "not UTF-8",
            Some("application/json"),
            Some(&[0xff, 0xfe, b'{', 0x80]),
        ),
        Malformed {
            what: "oversize body",
            body: Some(vec![b'a'; 70 * 1024]),
            content_type: Some("application/json"),
            ..plain("", None, None)
        },
        Malformed {
            what: "bad query",
            query: "?wait=abc&to=%ff&wait=-1",
            ..plain("", None, None)
        },
        Malformed {
            what: "unknown method",
            method: Some("BREW"),
            ..plain("", None, None)
        },
        Malformed {
            what: "wrong method",
            method: Some("PUT"),
            ..plain("", Some("application/json"), Some(b"{}"))
        },
    ];
    if takes_id {
        cases.push(Malformed {
            what: "bad path parameter (not UTF-8)",
            path_id: "%ff%fe",
            ..plain("", None, None)
        });
        cases.push(Malformed {
            what: "bad path parameter (not an id)",
            path_id: "..%2F..%2Fetc",
            ..plain("", None, None)
        });
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_to_every_route_is_refused_in_json() {
    let mut refused = 0;
    for (method, route) in ROUTES {
        // A fresh server and access token for each route (logout routes would end a shared
        // token, new backup codes change Alice's sign-in).
        let t = start().await;
        let tokens = t.sign_in_password(ALICE).await;
        for case in malformed_cases(route.contains("{id}")) {
            let path = route.replace("{id}", case.path_id);
            let url = format!("{}{path}{}", t.base, case.query);
            let method = Method::from_bytes(case.method.unwrap_or(method).as_bytes()).unwrap();
            let mut request = t
                .http
                .request(method.clone(), &url)
                .bearer_auth(&tokens.access);
            if let Some(content_type) = case.content_type {
                request = request.header("content-type", content_type);
            }
            if let Some(body) = &case.body {
                request = request.body(body.clone());
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = response.text().await.unwrap();
            let label = format!("{} {method} {path}{}", case.what, case.query);
            assert!(status < 500, "{label}: {status} {text}");
            assert!(headers.contains_key("x-request-id"), "{label}");
            if status < 400 {
                continue;
            }
            refused += 1;
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{label}: {status} answered {:?}: {text}",
                headers["content-type"]
            );
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{label}: {status} is not JSON: {text}"));
            assert!(body["error"].is_string(), "{label}: {body}");
            assert!(body["error_description"].is_string(), "{label}: {body}");
            assert_eq!(headers["cache-control"], "no-store", "{label}");
            if case.what == "oversize body" && status == 413 {
                assert_eq!(body["error"], "invalid_request");
            }
            if case.what == "unknown method" || case.what == "wrong method" {
                assert_eq!(status, 405, "{label}: {body}");
                assert_eq!(body["error"], "invalid_request");
            }
        }
        t.server.shutdown().await;
    }
    // Most of the 270 requests are refusals (the rest go to routes that ignore what was wrong,
    // such as a body sent to a GET route).
    assert!(refused > 150, "only {refused} refusals");
    // An unknown path is a JSON 404 too.
    let t = start().await;
    let (status, body) = t.get("/v1/no-such-endpoint", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    t.server.shutdown().await;
}

/// The headers of a response, for the checks below.
async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

fn assert_no_store(what: &str, headers: &reqwest::header::HeaderMap) {
    assert_eq!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what} may be cached"
    );
    let id = headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 16, "{what}: request id {id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carrying_a_code_secret_or_token_says_no_store() {
    let t = start().await;
    let form = |path: &str, form: &[(&str, &str)]| {
        t.http.post(format!("{}{path}", t.base)).form(
            &form
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    };
    // The authorize-challenge answer with the authorization code, then the tokens.
    let p = pkce();
    let (status, headers, body) = send(form(
        "/v1/authorize-challenge",
        &[
            ("client_id", CLIENT),
            ("identifier", ALICE.0),
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("password", ALICE.1),
        ],
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_no_store("the authorization code", &headers);
    let (status, headers, body) = send(form(
        "/v1/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", body["authorization_code"].as_str().unwrap()),
            ("code_verifier", &p.verifier),
        ],
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_no_store("the tokens", &headers);
    let access = body["access_token"].as_str().unwrap().to_owned();
    // A step carrying an auth_session (an email code is sent).
    let p = pkce();
    let (status, headers, body) = send(form(
        "/v1/authorize-challenge",
        &[
            ("client_id", CLIENT),
            ("identifier", ALICE.0),
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("method", "email_code"),
        ],
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["auth_session"].is_string());
    assert_no_store("the auth session", &headers);
    // The dev outbox (codes in clear).
    let (_, headers, _) = send(t.http.get(format!("{}/dev/outbox", t.base))).await;
    assert_no_store("/dev/outbox", &headers);
    // The TOTP secret, backup codes, an enrollment's activation code and its status, whatever
    // their status (a refusal says no-store too).
    for path in [
        "/v1/me/totp",
        "/v1/me/backup-codes",
        "/v1/me/authenticators",
    ] {
        let (_, headers, body) = send(
            t.http
                .post(format!("{}{path}", t.base))
                .bearer_auth(&access),
        )
        .await;
        assert_no_store(path, &headers);
        if let Some(id) = body["enrollment_id"].as_str() {
            let (_, headers, _) = send(
                t.http
                    .get(format!("{}/v1/me/authenticators/{id}", t.base))
                    .bearer_auth(&access),
            )
            .await;
            assert_no_store("the enrollment status", &headers);
        }
    }
    let (_, headers, _) = send(
        t.http
            .post(format!("{}/v1/devices/activate", t.base))
            .json(&serde_json::json!({"activation_code": "AAAA-BBBB-CCCC"})),
    )
    .await;
    assert_no_store("device activation", &headers);
    let (_, headers, _) = send(
        t.http
            .get(format!("{}/v1/userinfo", t.base))
            .bearer_auth(&access),
    )
    .await;
    assert_no_store("/v1/userinfo", &headers);
    // Two answers never share a request id.
    let (_, a, _) = send(
        t.http
            .get(format!("{}/v1/userinfo", t.base))
            .bearer_auth(&access),
    )
    .await;
    let (_, b, _) = send(
        t.http
            .get(format!("{}/v1/userinfo", t.base))
            .bearer_auth(&access),
    )
    .await;
    assert_ne!(a["x-request-id"], b["x-request-id"]);
    t.server.shutdown().await;
}
