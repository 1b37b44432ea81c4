-- authcore-server schema, version 4: step-up (how and when a session signed in), security
-- events, the password-reset review of recently added factors, the pending-enrollment cap.
-- Applied once, inside one transaction.

-- When the sign-in that created the session completed (RFC 9470 `auth_time`); the factors it
-- used are `sessions.factors`. NULL for sessions created before this version: `created_at`.
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;

-- `mfa` when the first request asked for `acr_values=mfa` (a step-up sign-in).
ALTER TABLE auth_sessions ADD COLUMN acr TEXT;

-- A device or TOTP added shortly before a password reset is suspended until the user confirms
-- it from a stepped-up session (or removes it).
ALTER TABLE devices ADD COLUMN suspended_at INTEGER;
ALTER TABLE totp_credentials ADD COLUMN suspended_at INTEGER;
-- When a suspended factor was confirmed (step-up counts factors usable when a session signed in).
ALTER TABLE devices ADD COLUMN reviewed_at INTEGER;
ALTER TABLE totp_credentials ADD COLUMN reviewed_at INTEGER;
-- When the active secret was confirmed (NULL for seeded ones: `created_at`).
ALTER TABLE totp_credentials ADD COLUMN confirmed_at INTEGER;

-- Every change of a user's security information.
CREATE TABLE security_events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,          -- authenticator_added, device_removed, totp_added, ...
    detail TEXT NOT NULL,        -- human text, no secret ("Dave's Pixel")
    factors TEXT NOT NULL,       -- the factors of the session that made the change
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX security_events_by_user ON security_events(user_id, id);

-- The pending-enrollment cap counts a user's unexpired, unused enrollments.
CREATE INDEX enrollments_pending ON enrollments(user_id, expires_at)
    WHERE used_at IS NULL AND failed_at IS NULL;
