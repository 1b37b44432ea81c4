//! The README's curl walkthrough, run as written (bash, curl, python3) against a `--dev` server on a
//! free port: it must end with tokens, so the README cannot drift from the protocol.

mod common;

use authcore_server::ServerOptions;

/// The shell block after "With the server running" in README.md.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let from = readme.find("With the server running").unwrap();
    let block = &readme[from..];
    let start = block.find("```sh\n").unwrap() + "```sh\n".len();
    let end = start + block[start..].find("```").unwrap();
    block[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_walkthrough_reaches_a_token() {
    let script = walkthrough();
    assert!(script.contains("server=http://127.0.0.1:8080"), "{script}");
    let mut options = ServerOptions::new(
        common::config(),
        "sqlite::memory:",
        "127.0.0.1:0".parse().unwrap(),
    );
    options.dev = true;
    let server = authcore_server::start(options).await.unwrap();
    let script = script.replace("http://127.0.0.1:8080", server.base_url());
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(tokens["token_type"], "Bearer", "{stdout}");
    assert!(tokens["access_token"].as_str().unwrap().starts_with("at_"));
    server.shutdown().await;
}
