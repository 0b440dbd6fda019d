//! Who is asking and what they may do: the identity a listener's edge authenticated, its
//! roles and the tenants it may act on. The edge (crate `taishan-edge`) reads credentials
//! and decides; every part reads the [`Identity`] it leaves in the request's extensions
//! (the `who` of an audit record, the tenants a write may name).

use std::fmt;
use std::sync::Arc;

use crate::TenantId;

/// What a route needs. A route needs exactly one; an identity holds several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Queries, pages and read APIs.
    Viewer,
    /// Ingest only: remote write, OTLP, logs.
    Writer,
    /// Acting on the running system: guards, silences, acknowledgements, drills.
    Operator,
    /// Everything, including reloads, TSDB admin, raw faults, status and config.
    Admin,
}

impl Role {
    /// Every role, in the order they are documented.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Writer, Role::Operator, Role::Admin];

    /// Its name in config files and answers.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Writer => "writer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The roles one identity holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles(u8);

impl Roles {
    /// Every role (a basic-auth user with no Taishan entry, or no authentication at all).
    pub const EVERY: Roles = Roles(0b1111);

    /// The set of `roles`.
    pub fn of(roles: impl IntoIterator<Item = Role>) -> Self {
        Roles(roles.into_iter().fold(0, |bits, r| bits | r.bit()))
    }

    /// Whether these roles allow what `needed` allows: holding it, or holding `admin`.
    pub fn allow(self, needed: Role) -> bool {
        self.0 & (needed.bit() | Role::Admin.bit()) != 0
    }

    /// The roles held, by name.
    pub fn names(self) -> Vec<&'static str> {
        Role::ALL
            .into_iter()
            .filter(|r| self.0 & r.bit() != 0)
            .map(Role::name)
            .collect()
    }
}

/// The tenants one identity may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenants {
    /// Any tenant (`"*"`).
    Every,
    /// These, the first being the one a request naming none acts on.
    Only(Arc<[TenantId]>),
}

impl Tenants {
    /// Whether `tenant` is one of them.
    pub fn include(&self, tenant: &TenantId) -> bool {
        match self {
            Tenants::Every => true,
            Tenants::Only(list) => list.contains(tenant),
        }
    }

    /// The tenant of a request that names none: `default` where allowed, else the first.
    pub fn implied(&self) -> TenantId {
        let default = TenantId::default_tenant();
        match self {
            Tenants::Only(list) if !list.contains(&default) => {
                list.first().cloned().unwrap_or(default)
            }
            _ => default,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The basic-auth user or token name; `anonymous` where authentication is off.
    pub name: Arc<str>,
    /// What it may do.
    pub roles: Roles,
    /// Whose data it may touch.
    pub tenants: Tenants,
}

impl Identity {
    /// The caller where no web config asks for credentials: may do everything (the loopback
    /// default, as Prometheus without `--web.config.file`).
    pub fn anonymous() -> Self {
        Self {
            name: Arc::from("anonymous"),
            roles: Roles::EVERY,
            tenants: Tenants::Every,
        }
    }

    /// Whether it holds `role` (or `admin`).
    pub fn may(&self, role: Role) -> bool {
        self.roles.allow(role)
    }

    /// Who acted, for an audit record: the authenticated name, never what the caller
    /// typed; only where authentication is off (every caller `anonymous`, on loopback) is
    /// the typed name all there is, and it is kept.
    pub fn actor(identity: Option<&Identity>, typed: &str) -> String {
        match identity {
            Some(i) if i.name.as_ref() != "anonymous" => i.name.to_string(),
            _ if typed.trim().is_empty() => "anonymous".to_string(),
            _ => typed.trim().to_string(),
        }
    }
}

/// The session a request belongs to, as the edge saw it: a login's session id, `user:NAME`
/// for a credential sent with every request, `anonymous` where authentication is off. A
/// page's CSRF token is bound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session(pub Arc<str>);

impl Session {
    /// The session of every caller where authentication is off.
    pub fn anonymous() -> Self {
        Session(Arc::from("anonymous"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_allows_every_role_and_others_only_their_own() {
        let ops = Roles::of([Role::Viewer, Role::Operator]);
        assert!(ops.allow(Role::Operator) && ops.allow(Role::Viewer));
        assert!(!ops.allow(Role::Writer) && !ops.allow(Role::Admin));
        let admin = Roles::of([Role::Admin]);
        assert!(Role::ALL.into_iter().all(|r| admin.allow(r)));
        assert_eq!(ops.names(), vec!["viewer", "operator"]);
        assert_eq!(Role::parse("writer"), Some(Role::Writer));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_actor_is_who_authenticated_not_what_was_typed() {
        let alice = Identity {
            name: Arc::from("alice"),
            ..Identity::anonymous()
        };
        assert_eq!(Identity::actor(Some(&alice), "mallory"), "alice");
        assert_eq!(Identity::actor(Some(&Identity::anonymous()), "bob"), "bob");
        assert_eq!(Identity::actor(None, " "), "anonymous");
    }

    #[test]
    fn a_request_naming_no_tenant_acts_on_default_or_the_first_allowed() {
        let t = |s: &str| TenantId::new(s).unwrap();
        let bank_a = Tenants::Only(Arc::from(vec![t("bank-a"), t("bank-b")]));
        assert_eq!(bank_a.implied(), t("bank-a"));
        assert!(bank_a.include(&t("bank-b")) && !bank_a.include(&t("default")));
        let with_default = Tenants::Only(Arc::from(vec![t("bank-a"), t("default")]));
        assert_eq!(with_default.implied(), t("default"));
        assert_eq!(Tenants::Every.implied(), t("default"));
    }
}
