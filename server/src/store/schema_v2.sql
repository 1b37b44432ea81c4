-- authcore-server schema, version 2: authenticator devices, enrollment, number-matching push.
-- Applied once, inside one transaction, after version 1.

-- A registered authenticator device. `id` is the public device id (`dv_…`).
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    public_key BLOB NOT NULL,              -- P-256 SubjectPublicKeyInfo, DER
    display_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    push_token TEXT,
    user_verification INTEGER NOT NULL,
    state TEXT NOT NULL,                   -- 'pending' (test approval outstanding) | 'active'
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    last_seen_at INTEGER,
    removed_at INTEGER
);
CREATE INDEX devices_by_user ON devices(user_id);

-- An enrollment: an activation code (stored as HMAC) until a device uses it, then the test
-- approval that finishes it.
CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL UNIQUE,
    auth_session_id INTEGER REFERENCES auth_sessions(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    device_id TEXT,
    test_request_id INTEGER,
    completed_at INTEGER,
    failed_at INTEGER
);
CREATE INDEX enrollments_by_session ON enrollments(auth_session_id);

-- A push request: the number to match, its context and, once answered, the answer.
CREATE TABLE push_requests (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,   -- NULL: unknown identifier (never delivered)
    auth_session_id INTEGER REFERENCES auth_sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                    -- 'sign_in' | 'test'
    device_id TEXT,                        -- only this device may answer (test approvals)
    require_uv INTEGER NOT NULL,           -- only devices registered with user verification
    number TEXT NOT NULL,
    choices TEXT,                          -- 'choose' mode: three comma-separated numbers
    app_name TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    location TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    answered_at INTEGER,
    answered_by TEXT,
    result TEXT,                           -- 'approved' | 'denied' | 'number_mismatch' | 'fraud'
    signature BLOB                         -- the device's signature over the decision message
);
-- Only what is still open is indexed per user: a user's answered history never slows the
-- challenge list or the push cap.
CREATE INDEX push_requests_pending ON push_requests(user_id) WHERE result IS NULL;
CREATE INDEX push_requests_unapproved ON push_requests(user_id, created_at)
    WHERE result IS NULL OR result <> 'approved';
CREATE INDEX push_requests_by_session ON push_requests(auth_session_id);

-- Nonces of signed device requests, kept until their timestamp can no longer be accepted.
CREATE TABLE device_nonces (
    device_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) WITHOUT ROWID;
CREATE INDEX device_nonces_by_expiry ON device_nonces(expires_at);

-- "Report fraud": no pushes to the user until `until`.
CREATE TABLE push_blocks (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    until INTEGER NOT NULL
);

-- "Skip for now": skips used per user, and the sign-ins in which the user skipped.
CREATE TABLE enrollment_skips (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    skips INTEGER NOT NULL
);
CREATE TABLE auth_session_skips (
    auth_session_id INTEGER PRIMARY KEY REFERENCES auth_sessions(id) ON DELETE CASCADE
);
