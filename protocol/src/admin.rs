//! Organisation administration (docs/protocol.md, "Organisation administration"): the roles a
//! user holds in their organisation and the admin API's answers (`/v1/admin/...`).

use serde::{Deserialize, Serialize};

/// A user's role in the organisation of their email domain; `member` unless one was given.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Admin,
    Helpdesk,
    Member,
}

impl OrgRole {
    pub const ALL: [OrgRole; 4] = [
        OrgRole::Owner,
        OrgRole::Admin,
        OrgRole::Helpdesk,
        OrgRole::Member,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Owner => "owner",
            OrgRole::Admin => "admin",
            OrgRole::Helpdesk => "helpdesk",
            OrgRole::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<OrgRole> {
        OrgRole::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// `GET /v1/admin/users`: the organisation's users, by email.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUsers {
    /// The organisation's domain.
    pub organization: String,
    pub users: Vec<OrgUser>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
}
