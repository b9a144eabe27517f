//! Who may use the page: the access token, sessions for browsers, and CSRF tokens for forms.
//!
//! - A script sends `Authorization: Bearer <token>`; it needs no CSRF token, since a browser
//!   never adds that header to a forged cross-site request.
//! - A browser opens `/?token=<token>` once; the server answers 303 to the same URL without the
//!   token and sets a session cookie (`HttpOnly; SameSite=Strict; Path=/`). The cookie is
//!   `<session id>.<HMAC of it>`, valid only while the session is kept in memory (until the
//!   server stops, or 12 idle hours).
//! - Every form carries `csrf_token` = HMAC(server secret, session id); a POST from a session
//!   without it, or with a wrong one, is refused with 403.
//!
//! Tokens and MACs are compared in constant time.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How long an unused session lasts.
const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);

/// Who is calling, as the auth layer established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A script with the bearer token.
    Bearer,
    /// A browser session (the id).
    Session(String),
}

/// A one-time message shown on the next page a session loads.
#[derive(Debug, Clone, Serialize)]
pub struct Flash {
    /// `success` or `error`, which picks the colour.
    pub kind: &'static str,
    /// What happened.
    pub text: String,
}

struct Session {
    last_seen: Instant,
    flash: Vec<Flash>,
}

/// The access token, the server's secret, and the live sessions.
pub struct Auth {
    token: String,
    secret: [u8; 32],
    cookie_name: String,
    sessions: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes from the operating system's generator (through uuid v4), hex-encoded.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    hex::encode(bytes)
}

impl Auth {
    /// Auth for one server run. `cookie_name` should be unique per listening port, since browsers
    /// share cookies between the ports of one host.
    pub fn new(token: impl Into<String>, cookie_name: impl Into<String>) -> Self {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            token: token.into(),
            secret,
            cookie_name: cookie_name.into(),
            sessions: Mutex::default(),
        }
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie_name
    }

    /// Whether `candidate` is the access token, compared in constant time.
    pub fn token_matches(&self, candidate: &str) -> bool {
        !self.token.is_empty() && bool::from(candidate.as_bytes().ct_eq(self.token.as_bytes()))
    }

    fn mac(&self, purpose: &str, session: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(session.as_bytes());
        mac
    }

    fn verify(&self, purpose: &str, session: &str, hex_mac: &str) -> bool {
        match hex::decode(hex_mac) {
            Ok(bytes) => self.mac(purpose, session).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// Starts a session; returns the cookie value.
    pub fn new_session(&self) -> String {
        let id = random_hex();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, s| s.last_seen.elapsed() < SESSION_IDLE);
        sessions.insert(
            id.clone(),
            Session {
                last_seen: Instant::now(),
                flash: Vec::new(),
            },
        );
        let mac = hex::encode(self.mac("session", &id).finalize().into_bytes());
        format!("{id}.{mac}")
    }

    /// The session id a cookie value stands for, if its MAC is right and the session is live.
    pub fn session(&self, cookie: &str) -> Option<String> {
        let (id, mac) = cookie.split_once('.')?;
        if !self.verify("session", id, mac) {
            return None;
        }
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let session = sessions.get_mut(id)?;
        if session.last_seen.elapsed() >= SESSION_IDLE {
            sessions.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(id.to_string())
    }

    /// The CSRF token forms of this session carry.
    pub fn csrf_token(&self, session: &str) -> String {
        hex::encode(self.mac("csrf", session).finalize().into_bytes())
    }

    /// Whether a form's CSRF token belongs to this session.
    pub fn csrf_ok(&self, session: &str, candidate: &str) -> bool {
        self.verify("csrf", session, candidate)
    }

    /// Keeps a message for the session's next page.
    pub fn push_flash(&self, session: &str, kind: &'static str, text: impl Into<String>) {
        if let Some(s) = self
            .sessions
            .lock()
            .expect("sessions lock")
            .get_mut(session)
        {
            s.flash.push(Flash {
                kind,
                text: text.into(),
            });
        }
    }

    /// Takes the session's pending messages.
    pub fn take_flash(&self, session: &str) -> Vec<Flash> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .get_mut(session)
            .map(|s| std::mem::take(&mut s.flash))
            .unwrap_or_default()
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's name is case-insensitive
/// (RFC 9110 section 11.1), so `bearer` is as good as `Bearer`.
pub fn bearer(value: &str) -> Option<&str> {
    value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_csrf_tokens_are_bound_to_the_server_secret() {
        let auth = Auth::new("t".repeat(20), "c");
        assert!(auth.token_matches(&"t".repeat(20)));
        assert!(!auth.token_matches("t"));
        assert!(!Auth::new("", "c").token_matches(""));
        let cookie = auth.new_session();
        let id = auth.session(&cookie).expect("valid session");
        assert!(auth.session(&format!("{id}.00")).is_none());
        assert!(Auth::new("x", "c").session(&cookie).is_none());
        let csrf = auth.csrf_token(&id);
        assert!(auth.csrf_ok(&id, &csrf));
        assert!(!auth.csrf_ok(&id, "nope"));
        assert!(!auth.csrf_ok("other", &csrf));
        auth.push_flash(&id, "success", "done");
        assert_eq!(auth.take_flash(&id).len(), 1);
        assert!(auth.take_flash(&id).is_empty());
    }
}
