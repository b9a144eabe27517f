//! Building HTTP clients: one pooled client per distinct TLS and redirect policy, from the
//! `[http]` options, which live here so that the client builder needs nothing above it.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{
    destinations::{GuardedResolver, Policy},
    size::ByteSize,
};

/// `[http]`: defaults for the pooled HTTP client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Seconds allowed to open a connection.
    pub connect_timeout: f64,
    /// Seconds allowed for a whole request when a webhook sets none.
    pub timeout: f64,
    /// Sent as `User-Agent` on every request.
    pub user_agent: String,
    /// A proxy URL for every outgoing request; empty means none (environment proxies are ignored,
    /// as NetBox does, so that what is configured is what happens).
    pub proxy: String,
    /// Idle keep-alive connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// Refuse webhook destinations (after DNS resolution, and on every followed redirect) in
    /// loopback, private, link-local, unique-local or unspecified ranges, against server-side
    /// request forgery. Off by default so that local setups work.
    pub block_private: bool,
    /// Networks (`10.1.2.0/24`, `fd00::/8`, `127.0.0.1`) and host names (`hooks.internal`) that
    /// stay reachable when `block_private` is on.
    pub allow: Vec<String>,
    /// The largest request body a webhook may send; a larger rendered body fails the delivery
    /// before anything is sent.
    pub max_body: ByteSize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: 10.0,
            timeout: 30.0,
            user_agent: format!("manage/{}", env!("CARGO_PKG_VERSION")),
            proxy: String::new(),
            pool_max_idle_per_host: 256,
            block_private: false,
            allow: Vec::new(),
            max_body: ByteSize(10 * 1024 * 1024),
        }
    }
}

/// Why a client could not be built; the text names the `[http]` key or the file at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

impl HttpSettings {
    /// The destination policy of `block_private` and `allow`.
    pub fn policy(&self) -> Result<Policy, String> {
        Policy::new(self.block_private, &self.allow)
    }
}

/// The per-destination choices that need a client of their own (reqwest fixes them per client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// Skip certificate verification (`ssl_verification = false`).
    pub insecure: bool,
    /// A PEM file with the CA that signs the destination's certificate.
    pub ca_file: Option<String>,
    /// Follow up to 10 redirects instead of treating a 3XX as the answer.
    pub follow_redirects: bool,
}

/// A client with the `[http]` defaults and the given TLS and redirect policy.
pub fn build_client(http: &HttpSettings, tls: &TlsOptions) -> Result<reqwest::Client, ClientError> {
    let fail = |message: String| ClientError(message);
    let policy = Arc::new(
        http.policy()
            .map_err(|e| fail(format!("key 'http.allow': {e}")))?,
    );
    let redirects = if !tls.follow_redirects {
        reqwest::redirect::Policy::none()
    } else if policy.blocks() {
        let policy = policy.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if let Err(reason) = policy.check_url(attempt.url()) {
                attempt.error(crate::destinations::Refused(reason))
            } else {
                attempt.follow()
            }
        })
    } else {
        reqwest::redirect::Policy::limited(10)
    };
    let mut builder = reqwest::Client::builder()
        .user_agent(http.user_agent.clone())
        .connect_timeout(Duration::from_secs_f64(http.connect_timeout))
        .pool_max_idle_per_host(http.pool_max_idle_per_host)
        .tcp_nodelay(true)
        .http1_title_case_headers()
        .no_proxy()
        .redirect(redirects);
    if policy.blocks() {
        builder = builder.dns_resolver(Arc::new(GuardedResolver::new(policy)));
    }
    if !http.proxy.is_empty() {
        let proxy = reqwest::Proxy::all(&http.proxy).map_err(|e| {
            fail(format!(
                "key 'http.proxy': {}",
                crate::redact::urls_in(&e.to_string())
            ))
        })?;
        builder = builder.proxy(proxy);
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(path) = &tls.ca_file {
        let pem =
            std::fs::read(path).map_err(|e| fail(format!("cannot read CA file {path}: {e}")))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| fail(format!("CA file {path} is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(fail(format!("CA file {path} holds no certificate")));
        }
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))
}
