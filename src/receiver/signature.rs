//! Checks NetBox's `X-Hook-Signature`: the lowercase hex HMAC-SHA512 of the exact body bytes, keyed
//! with the webhook's secret, so a user can see whether their secret and the sender's agree.

/// The header NetBox puts the signature in.
pub const HEADER: &str = "X-Hook-Signature";

/// What the check found, printed as `Signature: valid|invalid|missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// The header matches the body and the secret.
    Valid,
    /// The header is present but does not match (or is not hex).
    Invalid,
    /// The request has no `X-Hook-Signature` header.
    Missing,
}

impl Signature {
    /// The word printed after `Signature: ` and in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Missing => "missing",
        }
    }
}

/// Verifies signatures against one secret, with the same check the webhook tools use
/// ([`crate::webhooks::sign::verify_netbox`]).
#[derive(Clone)]
pub struct Verifier {
    secret: String,
}

impl Verifier {
    /// A verifier for `secret`, used as UTF-8 bytes as NetBox does.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_string(),
        }
    }

    /// Checks `header` (the `X-Hook-Signature` value, if any) against `body` in constant time;
    /// surrounding whitespace and hex case are ignored.
    pub fn check(&self, header: Option<&[u8]>, body: &[u8]) -> Signature {
        let Some(header) = header else {
            return Signature::Missing;
        };
        match std::str::from_utf8(header) {
            Ok(text) if crate::webhooks::sign::verify_netbox(&self.secret, body, text) => {
                Signature::Valid
            }
            _ => Signature::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use sha2::Sha512;

    /// `hmac.new(b"secret", b'{"a": 1}', hashlib.sha512).hexdigest()`, computed by Python.
    const PYTHON: &str = "d3df9f63efd984c3681e32b90ec5756ac766b3af181043ba8ff6efce0d641529\
                          25d9eb8b6a5a33cddbd0b5acfbe8fe69dff12ce75e12c0eb3c538def4a6eac9e";

    fn sign(key: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn valid_invalid_missing() {
        let verifier = Verifier::new("secret");
        let body = br#"{"a": 1}"#;
        let good = sign(b"secret", body);
        assert_eq!(good, PYTHON);
        assert_eq!(
            verifier.check(Some(PYTHON.as_bytes()), body),
            Signature::Valid
        );
        assert_eq!(
            verifier.check(Some(good.as_bytes()), body),
            Signature::Valid
        );
        assert_eq!(
            verifier.check(Some(good.to_uppercase().as_bytes()), body),
            Signature::Valid
        );
        assert_eq!(
            verifier.check(Some(good.as_bytes()), b"{}"),
            Signature::Invalid
        );
        assert_eq!(
            verifier.check(Some(PYTHON.as_bytes()), b"x"),
            Signature::Invalid
        );
        assert_eq!(
            Verifier::new("other").check(Some(PYTHON.as_bytes()), body),
            Signature::Invalid
        );
        assert_eq!(verifier.check(Some(b"not hex"), body), Signature::Invalid);
        assert_eq!(
            verifier.check(Some(&good.as_bytes()[..64]), body),
            Signature::Invalid
        );
        assert_eq!(verifier.check(None, body), Signature::Missing);
    }
}
