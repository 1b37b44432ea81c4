//! `authcore demo` tells the whole story and exits 0.

use std::process::Command;

#[test]
fn the_demo_tells_the_whole_story() {
    let output = Command::new(env!("CARGO_BIN_EXE_authcore"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = [
        "continuing at login.globex.example:",
        "  │ 1. Password\n  │ 2. Globex SSO\n  │ 3. Sign in with my phone\n",
        "Enter the 6-digit code sent to d***@globex.example",
        "[Skip for now (3 times left)]",
        "→ Skip for now",
        "[Skip for now (2 times left)]",
        "Can't scan image? Code ",
        "[phone] account added: Globex: dave@globex.example",
        "Approve the test notification",
        "Approve sign-in request",
        "factors password+push",
        "enrollment             push",
        "3 sessions ended on every device",
    ];
    let mut at = 0;
    for line in expected {
        let found = stdout[at..]
            .find(line)
            .unwrap_or_else(|| panic!("missing (in order) {line:?} in:\n{stdout}"));
        at += found + line.len();
    }
    // the number the laptop shows is the number the phone enters
    let shown = stdout
        .split("enter the number shown: ")
        .nth(1)
        .and_then(|rest| rest.get(..2))
        .unwrap();
    assert!(stdout.contains(&format!("fingerprint ✓, enters {shown}")));
}
