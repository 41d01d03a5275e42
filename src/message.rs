//! A message as it arrives, before anything is understood of it.
//!
//! [`RawMessage`] holds the exact bytes a source delivered and their SHA-256.
//! Nothing in postroom ever rewrites these bytes: they are what the store
//! keeps, what `cases raw` prints and what the de-duplication key is made of.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Where a message came from, in the terms of the classification contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An email (RFC 5322 bytes).
    Email,
    /// A scanned or printed paper letter (a PDF or an image).
    Letter,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Email => "email",
            Origin::Letter => "letter",
        }
    }

    pub fn parse(s: &str) -> Option<Origin> {
        match s {
            "email" => Some(Origin::Email),
            "letter" => Some(Origin::Letter),
            _ => None,
        }
    }
}

/// The bytes of one message exactly as delivered.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// Shared, not copied, between the stages that read it.
    pub bytes: Arc<Vec<u8>>,
    /// Lower-case hex SHA-256 of `bytes`: the identity of the delivery.
    pub sha256: String,
    pub origin: Origin,
    /// File name for letters (`scan-0042.pdf`), used to label extracted text.
    pub file_name: Option<String>,
}

impl RawMessage {
    pub fn new(bytes: Vec<u8>, origin: Origin) -> RawMessage {
        let sha256 = sha256_hex(&bytes);
        RawMessage {
            bytes: Arc::new(bytes),
            sha256,
            origin,
            file_name: None,
        }
    }

    pub fn with_file_name(mut self, name: impl Into<String>) -> RawMessage {
        self.file_name = Some(name.into());
        self
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_of_the_exact_bytes() {
        let a = RawMessage::new(b"Subject: x\r\n\r\nhi\r\n".to_vec(), Origin::Email);
        let b = RawMessage::new(b"Subject: x\n\nhi\n".to_vec(), Origin::Email);
        assert_ne!(a.sha256, b.sha256);
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
