//! [`OrgStore`] on SQLite: each user's role in the organisation of their email domain.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl OrgStore for SqliteStore {
    async fn set_org_role(&self, user_id: i64, domain: &str, role: OrgRole) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO org_roles (user_id, domain, role) VALUES (?, ?, ?)
             ON CONFLICT(user_id) DO UPDATE SET domain = excluded.domain, role = excluded.role",
        )
        .bind(user_id)
        .bind(domain)
        .bind(role.as_str())
        .execute(&mut *self.write().await?)
        .await?;
        Ok(())
    }

    async fn org_role(&self, user_id: i64, domain: &str) -> StoreResult<Option<OrgRole>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM org_roles WHERE user_id = ? AND domain = ?")
                .bind(user_id)
                .bind(domain)
                .fetch_optional(&mut *self.read().await?)
                .await?;
        Ok(role.as_deref().and_then(OrgRole::parse))
    }

    async fn org_users(&self, domain: &str) -> StoreResult<Vec<(User, OrgRole)>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, Option<String>, String, Option<String>)> = sqlx::query_as(
            "SELECT u.id, u.email, u.phone, u.name, r.role FROM users u
             LEFT JOIN org_roles r ON r.user_id = u.id AND r.domain = ?1
             WHERE substr(u.email, -length(?1) - 1) = '@' || ?1 ORDER BY u.email",
        )
        .bind(domain)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, email, phone, name, role)| {
                let user = User {
                    id,
                    email,
                    phone,
                    name,
                    password_hash: None,
                };
                (
                    user,
                    role.as_deref()
                        .and_then(OrgRole::parse)
                        .unwrap_or(OrgRole::Member),
                )
            })
            .collect())
    }
}
