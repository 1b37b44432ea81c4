//! The organisation admin API (`/v1/admin/...`), its foundation: a user's role in the
//! organisation of their email domain (`owner`, `admin`, `helpdesk`, `member`), what each role
//! may do ([`Permission`], [`allows`]), and the first endpoint, the organisation's users. Every
//! admin request needs a stepped-up session and a role that allows it.

use authcore_protocol::admin::{OrgRole, OrgUser, OrgUsers};
use authcore_protocol::ErrorCode;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::config::OrgConfig;
use crate::error::{ApiError, ApiResult};
use crate::extract::Bearer;
use crate::step_up::{stepped_up, SteppedUp};
use crate::store::User;
use crate::AppState;

/// What an admin request does, for the role check. Only `ListUsers` has an endpoint yet; the
/// rest of the matrix is what the later admin endpoints of issue 16 check, tested whole now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Permission {
    /// List the organisation's users and their roles.
    ListUsers,
    /// Read a user's sign-in history.
    ReadSignIns,
    /// Reset a user's second factors.
    ResetFactors,
    /// Suspend and restore users.
    SuspendUsers,
    /// Invite users.
    InviteUsers,
    /// Change the organisation's policies and roles.
    ChangePolicies,
}

impl Permission {
    /// How a refusal names it ("your role (member) may not list the organisation's users").
    fn describe(self) -> &'static str {
        match self {
            Permission::ListUsers => "list the organisation's users",
            Permission::ReadSignIns => "read a user's sign-in history",
            Permission::ResetFactors => "reset a user's second factors",
            Permission::SuspendUsers => "suspend or restore users",
            Permission::InviteUsers => "invite users",
            Permission::ChangePolicies => "change the organisation's policies",
        }
    }
}

/// The role matrix: owners may do everything; admins everything but change policies; the
/// helpdesk may look users up, read their history and reset their factors; members nothing.
pub fn allows(role: OrgRole, permission: Permission) -> bool {
    use Permission::*;
    match role {
        OrgRole::Owner => true,
        OrgRole::Admin => permission != ChangePolicies,
        OrgRole::Helpdesk => matches!(permission, ListUsers | ReadSignIns | ResetFactors),
        OrgRole::Member => false,
    }
}

fn denied(description: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::PermissionDenied,
        description,
    )
}

/// The caller's organisation, refused unless stepped up and allowed `permission` there.
async fn admin_of<'a>(
    app: &'a AppState,
    bearer: &Bearer,
    permission: Permission,
) -> ApiResult<(&'a OrgConfig, User)> {
    let SteppedUp { user, .. } = stepped_up(app, bearer).await?;
    let domain = user.email.split_once('@').map_or("", |(_, d)| d).to_owned();
    let org = app
        .config
        .org_for_domain(&domain)
        .ok_or_else(|| denied("your account belongs to no organisation".into()))?;
    let role = app
        .store
        .org_role(user.id, &org.domain)
        .await?
        .unwrap_or(OrgRole::Member);
    if !allows(role, permission) {
        return Err(denied(format!(
            "your role ({}) may not {}",
            role.as_str(),
            permission.describe()
        )));
    }
    Ok((org, user))
}

/// `GET /v1/admin/users` (stepped up; owner, admin or helpdesk): the organisation's users by
/// email, with their roles.
pub async fn list_users(State(app): State<AppState>, bearer: Bearer) -> ApiResult<Json<OrgUsers>> {
    let (org, _) = admin_of(&app, &bearer, Permission::ListUsers).await?;
    let users = app.store.org_users(&org.domain).await?;
    Ok(Json(OrgUsers {
        organization: org.domain.clone(),
        users: users
            .into_iter()
            .map(|(user, role)| OrgUser {
                id: user.id.to_string(),
                email: user.email,
                name: user.name,
                role,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_matrix_says() {
        use Permission::*;
        let all = [
            ListUsers,
            ReadSignIns,
            ResetFactors,
            SuspendUsers,
            InviteUsers,
            ChangePolicies,
        ];
        let allowed =
            |role| -> Vec<Permission> { all.into_iter().filter(|p| allows(role, *p)).collect() };
        assert_eq!(allowed(OrgRole::Owner), all);
        assert_eq!(
            allowed(OrgRole::Admin),
            [
                ListUsers,
                ReadSignIns,
                ResetFactors,
                SuspendUsers,
                InviteUsers
            ]
        );
        assert_eq!(
            allowed(OrgRole::Helpdesk),
            [ListUsers, ReadSignIns, ResetFactors]
        );
        assert!(allowed(OrgRole::Member).is_empty());
    }
}
