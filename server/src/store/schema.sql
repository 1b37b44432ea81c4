-- authcore-server schema, version 1. Applied once, inside one transaction.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key BLOB NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    phone TEXT UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE password_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until INTEGER
);

CREATE TABLE auth_sessions (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    identifier TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    device_recognised INTEGER NOT NULL,
    step TEXT NOT NULL,
    primary_method TEXT,
    device_verified INTEGER NOT NULL DEFAULT 0,
    second_factor_choice TEXT,
    second_factor TEXT,
    code_id INTEGER,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER
);

CREATE TABLE codes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    purpose TEXT NOT NULL,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX codes_by_key ON codes(key, purpose, created_at);

CREATE TABLE authorization_codes (
    hash BLOB PRIMARY KEY,
    auth_session_id INTEGER NOT NULL REFERENCES auth_sessions(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_challenge TEXT NOT NULL,
    method TEXT NOT NULL,
    factors TEXT NOT NULL,
    issue_device_token INTEGER NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    method TEXT NOT NULL,
    factors TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    hash BLOB PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
);
CREATE INDEX refresh_by_session ON refresh_tokens(session_id);

CREATE TABLE access_tokens (
    hash BLOB PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_by_session ON access_tokens(session_id);

CREATE TABLE device_tokens (
    hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE sign_in_events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    factors TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX events_by_user ON sign_in_events(user_id, at);

CREATE TABLE totp_credentials (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret BLOB NOT NULL,
    pending_secret BLOB,
    confirmed INTEGER NOT NULL,
    last_step INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE backup_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0
);
