//! The storage boundary for organisation roles (schema version 11), what the admin API checks.
//! [`super::Store`] includes [`OrgStore`].

use async_trait::async_trait;

pub use authcore_protocol::admin::OrgRole;

use super::{StoreResult, User};

#[async_trait]
pub trait OrgStore: Send + Sync + 'static {
    /// Gives the user `role` in the organisation of `domain` (dev seeding; later invitations).
    async fn set_org_role(&self, user_id: i64, domain: &str, role: OrgRole) -> StoreResult<()>;
    /// The user's role in the organisation of `domain`, if one was given.
    async fn org_role(&self, user_id: i64, domain: &str) -> StoreResult<Option<OrgRole>>;
    /// The users whose email is at `domain`, by email, with their role (`member` when none).
    async fn org_users(&self, domain: &str) -> StoreResult<Vec<(User, OrgRole)>>;
}
