//! Browser sessions after a login: a random cookie value → the user who logged in and
//! when the session ends. A session names its user, not a copy of the user's roles, so
//! a reload that removes the user or changes their roles applies to open sessions at
//! once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use taishan_core::signer::encode_hex;
use taishan_core::Clock;

/// The cookie the session id travels in.
pub const COOKIE: &str = "taishan_session";

/// How long a session lasts after its login.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Most sessions kept at once; past it the one closest to its end is dropped, so a flood
/// of logins cannot grow the process.
const MAX_SESSIONS: usize = 10_000;

struct Entry {
    user: Arc<str>,
    ends_ms: i64,
}

/// The open sessions.
#[derive(Clone)]
pub struct Sessions {
    open: Arc<Mutex<HashMap<String, Entry>>>,
    clock: Arc<dyn Clock>,
    /// Whether cookies are marked `Secure` (the listeners serve TLS).
    secure: bool,
}

impl Sessions {
    /// No session open yet; time read from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            open: Arc::new(Mutex::new(HashMap::new())),
            clock,
            secure: false,
        }
    }

    /// Cookies marked `Secure`: browsers send them only over TLS.
    pub fn served_over_tls(mut self) -> Self {
        self.secure = true;
        self
    }

    /// The `Set-Cookie` value of session `id`.
    pub fn cookie(&self, id: &str) -> String {
        self.cookie_lasting(id, LIFETIME.as_secs())
    }

    /// The `Set-Cookie` value that ends the session in the browser.
    pub fn expired_cookie(&self) -> String {
        self.cookie_lasting("", 0)
    }

    fn cookie_lasting(&self, id: &str, seconds: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={seconds}{secure}")
    }

    /// Opens a session for `user`; its id (the cookie's value).
    pub fn open(&self, user: &str) -> String {
        let id = encode_hex(&rand::random::<[u8; 32]>());
        let now = self.clock.now_ms();
        let ends_ms = now.saturating_add(LIFETIME.as_millis() as i64);
        let mut open = self.open.lock();
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, e| e.ends_ms > now);
        }
        if open.len() >= MAX_SESSIONS {
            let soonest = open
                .iter()
                .min_by_key(|(_, e)| e.ends_ms)
                .map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                open.remove(&k);
            }
        }
        open.insert(
            id.clone(),
            Entry {
                user: Arc::from(user),
                ends_ms,
            },
        );
        id
    }

    /// The user of session `id`, while it lasts.
    pub fn user(&self, id: &str) -> Option<Arc<str>> {
        let now = self.clock.now_ms();
        let mut open = self.open.lock();
        match open.get(id) {
            Some(e) if e.ends_ms > now => Some(e.user.clone()),
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.open.lock().remove(id);
    }
}

/// The session id in a `Cookie` header, if any.
pub fn from_cookie(cookie: &str) -> Option<&str> {
    cookie
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::ManualClock;

    #[test]
    fn a_session_lasts_its_lifetime_and_ends_at_logout() {
        let clock = Arc::new(ManualClock::at(0));
        let sessions = Sessions::new(clock.clone());
        let id = sessions.open("alice");
        assert_eq!(sessions.user(&id).as_deref(), Some("alice"));
        assert_eq!(sessions.user("forged"), None);
        clock.advance(LIFETIME);
        assert_eq!(sessions.user(&id), None);
        let id = sessions.open("alice");
        sessions.close(&id);
        assert_eq!(sessions.user(&id), None);
        let cookie = format!("theme=dark; {COOKIE}={id}; x=y");
        assert!(!sessions.cookie(&id).contains("Secure"));
        let over_tls = sessions.clone().served_over_tls();
        assert!(over_tls.cookie(&id).ends_with("; Secure"));
        assert!(over_tls.expired_cookie().contains("Max-Age=0; Secure"));
        assert_eq!(from_cookie(&cookie), Some(id.as_str()));
        assert_eq!(from_cookie("theme=dark"), None);
    }
}
