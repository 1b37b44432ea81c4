//! 100 concurrent sign-ins on a file database: every one completes, each gets its own session,
//! nothing is lost or duplicated and SQLite never answers busy.

mod common;

use std::collections::HashSet;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_sign_ins_complete_consistently() {
    let dir = temp_path("concurrency");
    let db = format!("sqlite://{}", dir.join("authcore.db").display());
    let t = std::sync::Arc::new(start_with(test_config(), &db, true).await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            // Each request ends with its own session; some users sign in on many devices at once.
            let _ = i;
            t.sign_in_password(ALICE).await
        }));
    }
    let mut sessions = HashSet::new();
    let mut accesses = Vec::new();
    for task in tasks {
        let tokens = task.await.expect("sign-in task");
        assert!(
            sessions.insert(tokens.session_id.clone()),
            "duplicated session"
        );
        accesses.push(tokens.access);
    }
    assert_eq!(sessions.len(), 100);
    for access in &accesses {
        assert_eq!(t.get("/v1/userinfo", Some(access)).await.0, 200);
    }
    let (_, history) = t.get("/v1/me/sign-ins", Some(&accesses[0])).await;
    let successes = history["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sign_in" && e["result"] == "success")
        .count();
    assert_eq!(
        successes, 100,
        "each sign-in is in the history exactly once"
    );
}
