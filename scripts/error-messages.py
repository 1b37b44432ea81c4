#!/usr/bin/env python3
"""Gives the generated exceptions a readable message (run by scripts/bindings.sh on the Kotlin and
the Swift bindings).

The error enums that export `Display` (`#[uniffi::export(Display)]` in bindings/src/errors.rs:
`ClientError`, `AuthenticatorError`) get the sentence written once in that error mapping ("the code
expired; ask for a new one") as their Kotlin `toString()` and Swift `description`. uniffi 0.32's
templates still use something else for the message a platform shows by default:
- Kotlin: each variant's `message` lists its fields ("retryable=true", "" without fields); this
  makes it the class's `toString()`;
- Swift: `errorDescription` (hence `localizedDescription`) is `String(reflecting: self)`
  ("Authcore.ClientError.Untrusted"); this makes it the `description` property (a plain property:
  the enum does not declare `CustomStringConvertible`, so `String(describing:)` would not use it).

Fails loudly when a template no longer matches (a uniffi upgrade): re-check then.
"""
import re
import sys

KOTLIN_CLASSES = ("ClientException", "AuthenticatorException")
KOTLIN_GETTER = re.compile(r'(        override val message\n            get\(\) = )"[^"\n]*"')
KOTLIN_DISPLAY = "    override fun toString(): String {"
SWIFT_ENUMS = ("ClientError", "AuthenticatorError")
SWIFT_DESCRIPTION = re.compile(
    r"(// The local Rust `Display` implementation\.\npublic var description: String \{\n"
    r"(?:.*\n)*?\}\n(?:\s*\n)*\s*public var errorDescription: String\? \{\n\s*)"
    r"String\(reflecting: self\)"
)


def fail(why):
    sys.exit(f"error-messages: {why} in {path}")


def kotlin(text):
    for name in KOTLIN_CLASSES:
        start = text.find(f"sealed class {name}: kotlin.Exception() {{\n")
        end = text.find("\n}\n", start)
        if start < 0 or end < 0:
            fail(f"no `sealed class {name}`")
        block = text[start:end]
        if KOTLIN_DISPLAY not in block:
            fail(f"{name} has no Display toString()")
        block, count = KOTLIN_GETTER.subn(r"\1toString()", block)
        if count == 0:
            fail(f"no `message` getter in {name}")
        text = text[:start] + block + text[end:]
    return text


def swift(text):
    for name in SWIFT_ENUMS:
        start = text.find(f"\nenum {name}: Swift.Error")
        end = text.find(f"\nextension {name}: Sendable {{}}", start)
        if start < 0 or end < 0:
            fail(f"no `public enum {name}`")
        block, count = SWIFT_DESCRIPTION.subn(r"\1description", text[start:end])
        if count != 1:
            fail(f"no Display `description` before `errorDescription` in {name}")
        text = text[:start] + block + text[end:]
    return text


path = sys.argv[1]
with open(path, encoding="utf-8") as f:
    source = f.read()
source = kotlin(source) if path.endswith(".kt") else swift(source)
with open(path, "w", encoding="utf-8") as f:
    f.write(source)
