//! Building HTTP clients: one pooled client per distinct TLS and redirect policy.

use std::{sync::Arc, time::Duration};

use crate::{
    config::HttpSettings,
    destinations::{GuardedResolver, Policy},
    error::CommandError,
};

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
pub fn build_client(
    http: &HttpSettings,
    tls: &TlsOptions,
) -> Result<reqwest::Client, CommandError> {
    let policy = Arc::new(
        Policy::from_settings(http)
            .map_err(|e| CommandError::new(format!("key 'http.allow': {e}")))?,
    );
    let redirects = if !tls.follow_redirects {
        reqwest::redirect::Policy::none()
    } else if policy.blocks() {
        let policy = policy.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if let Err(reason) = policy.check_url(attempt.url()) {
                attempt.error(reason)
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
        let proxy = reqwest::Proxy::all(&http.proxy)
            .map_err(|e| CommandError::new(format!("key 'http.proxy': {e}")))?;
        builder = builder.proxy(proxy);
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(path) = &tls.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| CommandError::new(format!("cannot read CA file {path}: {e}")))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| CommandError::new(format!("CA file {path} is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(CommandError::new(format!(
                "CA file {path} holds no certificate"
            )));
        }
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| CommandError::new(format!("cannot build the HTTP client: {e}")))
}
