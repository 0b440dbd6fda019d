//! HMAC-SHA256 with one key: the one way Taishan signs and checks what it hands out
//! (acknowledge links, CSRF tokens) and signs what peers ask to be signed (DingTalk's and
//! Feishu's robot signatures). Checking compares in constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks messages with one key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// A signer with `key` (any length, as HMAC takes).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    fn mac(&self, message: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of every length: new_from_slice cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(message);
        mac
    }

    /// The 32-byte signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        self.mac(message).finalize().into_bytes().into()
    }

    /// The signature of `message` in standard base64 (with padding).
    pub fn sign_base64(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.sign(message))
    }

    /// The signature of `message` in base64url without padding, fit for a URL.
    pub fn sign_base64url(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.sign(message))
    }

    /// The signature of `message` in lowercase hex.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        encode_hex(&self.sign(message))
    }

    /// Whether `signature` (raw bytes) is `message`'s, compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.mac(message).verify_slice(signature).is_ok()
    }

    /// [`Signer::verify`] of a base64url signature without padding.
    pub fn verify_base64url(&self, message: &[u8], signature: &str) -> bool {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|bytes| self.verify(message, &bytes))
    }

    /// [`Signer::verify`] of a hex signature.
    pub fn verify_hex(&self, message: &[u8], signature: &str) -> bool {
        decode_hex(signature).is_some_and(|bytes| self.verify(message, &bytes))
    }
}

/// `bytes` in lowercase hex.
pub fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex `text` (at most 64 bytes' worth; a signature, a digest).
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_rfc_4231_says() {
        // RFC 4231, test case 2.
        let signer = Signer::new(b"Jefe".to_vec());
        assert_eq!(
            signer.sign_hex(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn checks_its_own_signatures_and_nothing_else() {
        let signer = Signer::new(b"key".to_vec());
        let other = Signer::new(b"other".to_vec());
        let sig = signer.sign_base64url(b"ack\nincident");
        assert!(signer.verify_base64url(b"ack\nincident", &sig));
        assert!(!signer.verify_base64url(b"resolve\nincident", &sig));
        assert!(!other.verify_base64url(b"ack\nincident", &sig));
        assert!(!signer.verify_base64url(b"ack\nincident", "not base64!"));
        let hex = signer.sign_hex(b"session");
        assert!(signer.verify_hex(b"session", &hex));
        assert!(!signer.verify_hex(b"session", &hex[1..]));
        assert!(!signer.verify_hex(b"session", "zz"));
        assert_eq!(format!("{signer:?}"), "Signer(..)");
    }
}
