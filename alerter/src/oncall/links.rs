//! Signed, expiring links in notifications: "acknowledge" and "resolve" for one incident,
//! by the person paged, until a deadline. The signature is HMAC-SHA256 over the action,
//! the incident, the person and the deadline with a key kept in the data directory, so a
//! link cannot be altered or forged, and stops working when it expires.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};
use taishan_core::signer::Signer;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkAction {
    /// Acknowledge the incident's alerts.
    Ack,
    /// Resolve them.
    Resolve,
}

impl LinkAction {
    /// `ack` or `resolve`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Ack => "ack",
            LinkAction::Resolve => "resolve",
        }
    }
}

/// A link's claims, as its query string carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// What it does.
    pub action: LinkAction,
    /// The incident's id.
    pub incident: String,
    /// Who it was sent to.
    pub member: String,
    /// Unix seconds after which it is refused.
    pub expires: i64,
    /// The signature, base64url without padding.
    #[serde(default)]
    pub sig: String,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match: altered or forged.
    #[error("the link's signature does not match (altered, or from another alerter)")]
    BadSignature,
    /// It expired.
    #[error(
        "the link expired at {0} (Unix seconds); acknowledge from the API or `taishan alerts ack`"
    )]
    Expired(i64),
}

/// Signs and checks links with one key.
#[derive(Clone, Debug)]
pub struct LinkSigner {
    signer: Signer,
}

impl LinkSigner {
    /// A signer with `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self {
            signer: Signer::new(key),
        }
    }

    /// The key in `path`, created (32 random bytes, owner-only) when missing, so links stay
    /// valid across restarts.
    pub fn load_or_create(path: &Path) -> std::io::Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            let key = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            return Ok(Self::new(key));
        }
        let key: [u8; 32] = rand::random();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(path)?;
        f.write_all(
            base64::engine::general_purpose::STANDARD
                .encode(key)
                .as_bytes(),
        )?;
        f.sync_all()?;
        Ok(Self::new(key.to_vec()))
    }

    /// What a link's signature covers: every claim but the signature.
    fn message(c: &LinkClaims) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            c.action.as_str(),
            c.incident,
            c.member,
            c.expires
        )
    }

    /// `claims` with their signature.
    pub fn sign(&self, mut claims: LinkClaims) -> LinkClaims {
        claims.sig = self
            .signer
            .sign_base64url(Self::message(&claims).as_bytes());
        claims
    }

    /// The link to `base` (`http://host:9093/api/taishan/v1/link`) carrying signed claims.
    pub fn url(&self, base: &str, claims: LinkClaims) -> String {
        let c = self.sign(claims);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("action", c.action.as_str())
            .append_pair("incident", &c.incident)
            .append_pair("member", &c.member)
            .append_pair("expires", &c.expires.to_string())
            .append_pair("sig", &c.sig)
            .finish();
        format!("{base}?{query}")
    }

    /// Checks a link's claims at `now_ms`.
    pub fn verify(&self, c: &LinkClaims, now_ms: i64) -> Result<(), LinkError> {
        if !self
            .signer
            .verify_base64url(Self::message(c).as_bytes(), &c.sig)
        {
            return Err(LinkError::BadSignature);
        }
        if now_ms.div_euclid(1000) > c.expires {
            return Err(LinkError::Expired(c.expires));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            action: LinkAction::Ack,
            incident: "0f3a".into(),
            member: "alice".into(),
            expires: 2_000,
            sig: String::new(),
        }
    }

    #[test]
    fn a_link_holds_until_it_expires_and_not_when_altered() {
        let signer = LinkSigner::new(b"k".to_vec());
        let signed = signer.sign(claims());
        assert_eq!(signer.verify(&signed, 2_000_000), Ok(()));
        assert_eq!(
            signer.verify(&signed, 2_001_000),
            Err(LinkError::Expired(2_000))
        );
        let as_bob = LinkClaims {
            member: "bob".into(),
            ..signed.clone()
        };
        assert_eq!(signer.verify(&as_bob, 0), Err(LinkError::BadSignature));
        let resolve = LinkClaims {
            action: LinkAction::Resolve,
            ..signed.clone()
        };
        assert_eq!(signer.verify(&resolve, 0), Err(LinkError::BadSignature));
        let other = LinkSigner::new(b"other".to_vec());
        assert_eq!(other.verify(&signed, 0), Err(LinkError::BadSignature));
        let url = signer.url("http://am/api/taishan/v1/link", claims());
        assert!(url.starts_with("http://am/api/taishan/v1/link?action=ack&incident=0f3a&member=alice&expires=2000&sig="), "{url}");
    }

    #[test]
    fn the_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerter/link.key");
        let first = LinkSigner::load_or_create(&path).unwrap();
        let again = LinkSigner::load_or_create(&path).unwrap();
        let key = std::fs::read_to_string(&path).unwrap();
        let key = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(first.sign(claims()), again.sign(claims()));
        let signed = first.sign(claims());
        assert_eq!(again.verify(&signed, 0), Ok(()));
    }
}
