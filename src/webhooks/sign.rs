//! Signing deliveries so receivers can tell they came from us: NetBox's `X-Hook-Signature`, or
//! the Standard Webhooks headers, which also bind the body to an id and a time. The `verify_*`
//! functions are the receiver's side, in constant time.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

use super::config::{Signing, WebhookConfig};

/// NetBox's header: hex HMAC-SHA512 of the body.
pub const NETBOX_HEADER: &str = "X-Hook-Signature";
/// Standard Webhooks: the delivery's unique id.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks: unix seconds when it was signed.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks: `v1,<base64 HMAC-SHA256>`, space-separated when there are several.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// NetBox's `generate_signature`: lowercase hex HMAC-SHA512 of the exact body bytes, keyed by the
/// secret's UTF-8 bytes.
pub fn netbox_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks an `X-Hook-Signature` value (hex, either case) against the body in constant time.
pub fn verify_netbox(secret: &str, body: &[u8], header: &str) -> bool {
    let Ok(signature) = hex::decode(header.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Decodes a Standard Webhooks secret, `whsec_` followed by base64 (padding optional). The spec
/// recommends 24 to 64 bytes; we require at least one. Messages never repeat the secret.
pub fn standard_key(secret: &str) -> Result<Vec<u8>, String> {
    const EXPECTED: &str = "standard signing needs a secret of the form whsec_<base64>";
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return Err(format!("{EXPECTED}, found one without the whsec_ prefix"));
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    match engine.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        Ok(_) => Err(format!("{EXPECTED}, found nothing after whsec_")),
        Err(_) => Err(format!("{EXPECTED}, found invalid base64 after whsec_")),
    }
}

/// The Standard Webhooks signature, `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = standard_mac(key, id, timestamp, body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Checks a `webhook-signature` header (one or more space-separated `v1,<base64>`) in constant
/// time. The receiver decides separately whether `timestamp` is recent enough.
pub fn verify_standard(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let mac = standard_mac(key, id, timestamp, body);
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|signature| mac.clone().verify_slice(&signature).is_ok())
}

fn standard_mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(format!(".{timestamp}.").as_bytes());
    mac.update(body);
    mac
}

/// A webhook's signing method with its key decoded once, for the worker to reuse.
#[derive(Clone, PartialEq, Eq)]
pub enum Signer {
    /// No secret: nothing is signed.
    None,
    /// `X-Hook-Signature`, keyed by the secret as text.
    Netbox(String),
    /// Standard Webhooks, keyed by the decoded `whsec_` secret.
    Standard(Vec<u8>),
}

impl Signer {
    /// The signer a webhook asks for. Fails only for a malformed standard secret, which
    /// `validate` reports at load.
    pub fn new(webhook: &WebhookConfig) -> Result<Signer, String> {
        Ok(match webhook.signing {
            _ if webhook.secret.is_empty() => Signer::None,
            Signing::Netbox => Signer::Netbox(webhook.secret.clone()),
            Signing::Standard => Signer::Standard(standard_key(&webhook.secret)?),
        })
    }

    /// The headers to add to a delivery. `id` identifies the delivery (the job id suits, as it
    /// stays the same across retries, letting receivers drop duplicates); `timestamp` is unix
    /// seconds now. Only the standard method uses them. NetBox sets its header after the others,
    /// so it replaces any additional header of the same name; the caller should do the same.
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
        match self {
            Signer::None => Vec::new(),
            Signer::Netbox(secret) => vec![(NETBOX_HEADER, netbox_signature(secret, body))],
            Signer::Standard(key) => vec![
                (WEBHOOK_ID, id.to_string()),
                (WEBHOOK_TIMESTAMP, timestamp.to_string()),
                (
                    WEBHOOK_SIGNATURE,
                    standard_signature(key, id, timestamp, body),
                ),
            ],
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signer::None => "Signer::None",
            Signer::Netbox(_) => "Signer::Netbox(********)",
            Signer::Standard(_) => "Signer::Standard(********)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbox_signature_matches_python_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret", b"{\"a\": 1}", hashlib.sha512).hexdigest())'
        let expected = "b9c929237f5323d0fe8618ae45b0f172d92db65df25bf9cd8c9ab5dc7713c7e0e294e0e497d931ccb16a26f1c9c70acf278b1dae91cc1cd0ae6128e354af7b74";
        let signature = netbox_signature("s3cret", br#"{"a": 1}"#);
        assert_eq!(signature, expected);
        assert!(verify_netbox("s3cret", br#"{"a": 1}"#, &signature));
        assert!(verify_netbox(
            "s3cret",
            br#"{"a": 1}"#,
            &signature.to_uppercase()
        ));
        assert!(!verify_netbox("s3cret", br#"{"a": 2}"#, &signature));
        assert!(!verify_netbox("other", br#"{"a": 1}"#, &signature));
        assert!(!verify_netbox("s3cret", br#"{"a": 1}"#, &signature[..64]));
        assert!(!verify_netbox("s3cret", br#"{"a": 1}"#, "not hex"));
    }

    #[test]
    fn standard_signature_matches_the_spec_vector() {
        let key = standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, ts, body) = (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        let signature = standard_signature(&key, id, ts, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_standard(&key, id, ts, body, &signature));
        assert!(verify_standard(
            &key,
            id,
            ts,
            body,
            &format!("v1,bm9wZQ== {signature}")
        ));
        assert!(!verify_standard(&key, id, ts + 1, body, &signature));
        assert!(!verify_standard(&key, "msg_other", ts, body, &signature));
        assert!(!verify_standard(&key, id, ts, b"{}", &signature));
        assert!(!verify_standard(
            &key,
            id,
            ts,
            body,
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        ));
    }

    #[test]
    fn standard_keys_decode() {
        assert_eq!(
            standard_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .unwrap()
                .len(),
            24
        );
        assert_eq!(standard_key("whsec_AQ").unwrap(), [1]);
        assert_eq!(standard_key("whsec_AQ==").unwrap(), [1]);
        assert!(standard_key("whsec_")
            .unwrap_err()
            .contains("found nothing"));
        assert!(standard_key("whsec_!!")
            .unwrap_err()
            .contains("invalid base64"));
        assert!(standard_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_err()
            .contains("prefix"));
    }

    fn webhook(secret: &str, signing: &str) -> WebhookConfig {
        toml::from_str(&format!(
            "name = \"h\"\npayload_url = \"http://x/\"\nsecret = \"{secret}\"\nsigning = \"{signing}\""
        ))
        .unwrap()
    }

    #[test]
    fn signers_follow_the_webhook() {
        let body = br#"{"a": 1}"#;
        assert!(Signer::new(&webhook("", "standard"))
            .unwrap()
            .headers("id", 1, body)
            .is_empty());
        let netbox = Signer::new(&webhook("s3cret", "netbox")).unwrap();
        assert_eq!(
            netbox.headers("id", 1, body),
            [(NETBOX_HEADER, netbox_signature("s3cret", body))]
        );
        let standard = Signer::new(&webhook(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "standard",
        ))
        .unwrap();
        let headers = standard.headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            headers,
            [
                (WEBHOOK_ID, "msg_p5jXN8AQM9LWM0D4loKWxJek".to_string()),
                (WEBHOOK_TIMESTAMP, "1614265330".to_string()),
                (
                    WEBHOOK_SIGNATURE,
                    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_string()
                ),
            ]
        );
        assert!(Signer::new(&webhook("plain", "standard")).is_err());
        assert_eq!(format!("{netbox:?}"), "Signer::Netbox(********)");
    }
}
