//! Opening Redis clients from `[redis] url`, directly or through Sentinel, in plain text or TLS.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    Cmd, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, RedisResult,
    ServerErrorKind, Value,
};
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

use crate::redis_url::RedisTarget;

/// How to reach Redis besides its address: the timeouts and, for TLS, the files that say whom
/// to trust and who we are. The settings build it; this module knows nothing of them.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Bounds connecting (each try).
    pub connect_timeout: Duration,
    /// Bounds every reply on the shared connection (raised to `connect_timeout` when lower).
    pub reply_timeout: Duration,
    /// PEM files for `rediss://` and `rediss+sentinel://`; unused by plain connections.
    pub tls: TlsFiles,
}

/// PEM files for TLS connections, as paths. They are read each time a client is made, so a
/// renewed certificate is used by the next connection; their contents are never shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificates of the CAs to trust instead of the system's (a private CA).
    pub ca_file: Option<PathBuf>,
    /// The client's certificate (chain), for servers that ask for one.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key.
    pub client_key: Option<PathBuf>,
}

impl TlsFiles {
    /// Whether no file is given.
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.client_cert.is_none() && self.client_key.is_none()
    }

    /// Reads and checks the files; errors name the file, never its contents.
    fn load(&self) -> Result<redis::TlsCertificates, String> {
        let root_cert = self.ca_file.as_deref().map(read_ca_file).transpose()?;
        let client_tls = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: read_client_certificate(cert)?,
                client_key: read_private_key(key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(
                    "a client certificate needs its private key, and a key its certificate".into(),
                )
            }
        };
        Ok(redis::TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A PEM file of certificates (a chain, or CAs), once it is known to hold at least one.
fn read_certificates(path: &Path) -> Result<Vec<u8>, String> {
    let pem = read(path)?;
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| format!("{} is not a readable PEM file: {e}", path.display()))?;
        found += 1;
    }
    if found == 0 {
        return Err(format!(
            "{} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(pem)
}

/// A PEM file with a client certificate (then any intermediates), once the first is known to
/// be one TLS can present.
pub fn read_client_certificate(path: &Path) -> Result<Vec<u8>, String> {
    let pem = read_certificates(path)?;
    if let Some(Ok(first)) = CertificateDer::pem_slice_iter(&pem).next() {
        rustls::server::ParsedCertificate::try_from(&first).map_err(|e| {
            format!(
                "{}: its first certificate cannot be a TLS client certificate ({e})",
                path.display()
            )
        })?;
    }
    Ok(pem)
}

/// A PEM file of CA certificates, once each is known to be usable as a trust anchor.
pub fn read_ca_file(path: &Path) -> Result<Vec<u8>, String> {
    let pem = read_certificates(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
        roots.add(cert).map_err(|e| {
            format!(
                "{} holds a certificate that cannot be a trusted CA: {e}",
                path.display()
            )
        })?;
    }
    Ok(pem)
}

/// A PEM file with a private key, once it is known to hold one. The parser's error is not
/// shown: it could quote the key.
pub fn read_private_key(path: &Path) -> Result<Vec<u8>, String> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        format!(
            "{} holds no readable private key (expected PEM: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
            path.display()
        )
    })?;
    Ok(pem)
}

/// A client for one server address; a `rediss://` one gets the TLS files.
fn open(url: &str, tls: &TlsFiles) -> anyhow::Result<redis::Client> {
    let info = url.into_connection_info()?;
    if tls.is_empty() || !matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. }) {
        return Ok(redis::Client::open(info)?);
    }
    let certificates = tls.load().map_err(anyhow::Error::msg)?;
    Ok(redis::Client::build_with_tls(info, certificates)?)
}

/// A client for the configured server. For Sentinel, the sentinels are asked for the current
/// master each time, so calling this again after a failover finds the new one.
pub async fn client_for(url: &str, options: &ConnectOptions) -> anyhow::Result<redis::Client> {
    match RedisTarget::parse(url).map_err(anyhow::Error::msg)? {
        RedisTarget::Direct(url) => open(&url, &options.tls),
        RedisTarget::Sentinel {
            tls,
            sentinels,
            master,
            db,
            password,
        } => {
            let scheme = if tls { "rediss" } else { "redis" };
            let master_addr = ask_sentinels(scheme, &sentinels, &master, options).await?;
            let auth = password
                .map(|p| {
                    format!(
                        ":{}@",
                        url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            open(
                &format!("{scheme}://{auth}{master_addr}/{db}"),
                &options.tls,
            )
        }
    }
}

/// A TLS connection that failed for a reason a person can act on, naming the server.
#[derive(Debug, thiserror::Error)]
pub enum TlsFailure {
    /// The server's certificate is not one we trust for its address.
    #[error("the TLS certificate of {server} could not be verified: {reason}")]
    NotVerified {
        /// `host:port`.
        server: String,
        /// Why, in words.
        reason: String,
    },
    /// The server refused us: it wants a client certificate, or not the one we sent.
    #[error("{server} refused the TLS connection: {reason}")]
    Refused {
        /// `host:port`.
        server: String,
        /// Why, in words.
        reason: String,
    },
}

/// A connection error, with a TLS failure put in words and the server named.
fn explain(error: RedisError, server: &str) -> anyhow::Error {
    match find_rustls_error(&error).and_then(|e| tls_failure(e, server)) {
        Some(failure) => failure.into(),
        None => error.into(),
    }
}

/// The TLS library's error behind a connection error: redis-rs keeps the I/O error behind an
/// `Arc`, and the I/O error keeps the TLS error as its payload (not as its source).
fn find_rustls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(found) = error.downcast_ref::<rustls::Error>() {
        return Some(found);
    }
    if let Some(shared) = error.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>() {
        return find_rustls_error(&**shared);
    }
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return find_rustls_error(inner);
    }
    error.source().and_then(find_rustls_error)
}

fn tls_failure(error: &rustls::Error, server: &str) -> Option<TlsFailure> {
    use rustls::{AlertDescription as Alert, CertificateError as Cert};
    let server = server.to_string();
    match error {
        rustls::Error::InvalidCertificate(cert) => {
            let reason = match cert {
                Cert::UnknownIssuer => "it is not signed by a trusted CA".to_string(),
                Cert::NotValidForName => "it is not valid for that address".to_string(),
                Cert::NotValidForNameContext { .. } => {
                    format!("it is not valid for that address ({cert})")
                }
                Cert::Expired | Cert::ExpiredContext { .. } => "it has expired".to_string(),
                Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
                    "it is not valid yet".to_string()
                }
                Cert::Revoked => "it has been revoked".to_string(),
                Cert::BadSignature => "its signature is not valid".to_string(),
                other => other.to_string(),
            };
            Some(TlsFailure::NotVerified { server, reason })
        }
        rustls::Error::AlertReceived(alert) => {
            let reason = match alert {
                Alert::CertificateRequired => "it requires a client certificate",
                Alert::UnknownCA => "it does not trust the CA that signed our client certificate",
                Alert::CertificateExpired => "our client certificate has expired",
                Alert::BadCertificate
                | Alert::UnsupportedCertificate
                | Alert::CertificateRevoked
                | Alert::CertificateUnknown
                | Alert::AccessDenied
                | Alert::DecryptError => "it does not accept our client certificate",
                _ => return None,
            };
            Some(TlsFailure::Refused {
                server,
                reason: reason.to_string(),
            })
        }
        _ => None,
    }
}

/// A Redis URL with its password hidden, for messages; unparsable ones are masked as text.
pub fn display(url: &str) -> String {
    RedisTarget::parse(url)
        .map(|target| target.to_string())
        .unwrap_or_else(|_| crate::redact::url(url))
}

/// Asks each sentinel in turn for the master's address (`SENTINEL get-master-addr-by-name`),
/// over TLS when `scheme` is `rediss`.
async fn ask_sentinels(
    scheme: &str,
    sentinels: &[String],
    master: &str,
    options: &ConnectOptions,
) -> anyhow::Result<String> {
    let timeout = options.connect_timeout;
    let mut last_error = None;
    for sentinel in sentinels {
        let attempt = async {
            let client = open(&format!("{scheme}://{sentinel}"), &options.tls)?;
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .map_err(|e| explain(e, &format!("sentinel {sentinel}")))?;
            let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master)
                .query_async(&mut conn)
                .await?;
            anyhow::Ok(addr)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(Some((host, port)))) => return Ok(format!("{host}:{port}")),
            Ok(Ok(None)) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} does not know master {master:?}"
                ))
            }
            // A TLS failure names the sentinel already.
            Ok(Err(e)) if e.is::<TlsFailure>() => last_error = Some(e),
            Ok(Err(e)) => last_error = Some(e.context(format!("sentinel {sentinel}"))),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} did not answer in {timeout:?}"
                ))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no sentinel given")))
}

/// The shared Redis connection every command and the worker use: a multiplexed
/// [`ConnectionManager`] that reconnects by itself after an outage. Behind a Sentinel URL it
/// also follows failovers: when the server it talks to turns read-only (a demoted master) or
/// drops the connection, it asks the sentinels for the current master and, if that moved,
/// swaps in a connection to the new one. Cloning is cheap; clones share the swap.
#[derive(Clone)]
pub struct RedisConn {
    current: Arc<RwLock<Current>>,
    follow: Option<Arc<Follow>>,
    target: Arc<Target>,
}

/// The configured address and how to connect, for dedicated clients, failovers and messages.
struct Target {
    url: String,
    options: ConnectOptions,
    display: String,
}

/// The connection in use and how many times it was swapped (so concurrent failures swap once).
#[derive(Clone)]
struct Current {
    conn: ConnectionManager,
    generation: u64,
}

/// Where the master was last found, to tell after an error whether it moved.
struct Follow {
    master: std::sync::Mutex<String>,
    /// Held while asking the sentinels; holds when they were last asked.
    asking: tokio::sync::Mutex<Option<Instant>>,
}

/// The least time between two rounds of asking the sentinels, so a flood of errors on many
/// in-flight commands turns into one question.
const RESOLVE_EVERY: Duration = Duration::from_millis(500);

impl RedisConn {
    /// Connects to the configured server (for Sentinel, the master the sentinels name now).
    /// `connect_timeout` bounds connecting, and `reply_timeout` (at least `connect_timeout`)
    /// every reply on the shared connection, so a hung server cannot hang a command. Nothing
    /// sent on it blocks on the server side (blocking pops and pub/sub use their own
    /// connections), so a reply that late means a hung server; failing lets the caller log it
    /// and retry. A TLS failure comes back as a [`TlsFailure`] naming the server.
    pub async fn connect(url: &str, options: &ConnectOptions) -> anyhow::Result<Self> {
        let sentinel = matches!(
            RedisTarget::parse(url).map_err(anyhow::Error::msg)?,
            RedisTarget::Sentinel { .. }
        );
        let mut options = options.clone();
        options.reply_timeout = options.reply_timeout.max(options.connect_timeout);
        let client = client_for(url, &options).await?;
        let master = client.get_connection_info().addr().to_string();
        let conn = manager(client, &options).await?;
        let target = Arc::new(Target {
            url: url.to_string(),
            options,
            display: display(url),
        });
        Ok(Self {
            target,
            current: Arc::new(RwLock::new(Current {
                conn,
                generation: 0,
            })),
            follow: sentinel.then(|| {
                Arc::new(Follow {
                    master: std::sync::Mutex::new(master),
                    asking: tokio::sync::Mutex::new(None),
                })
            }),
        })
    }

    /// The configured address with any password hidden, for log lines and errors.
    pub fn display(&self) -> &str {
        &self.target.display
    }

    /// A client of its own for what cannot share the multiplexed connection (blocking
    /// commands, pub/sub); behind Sentinel it goes to the master the sentinels name now.
    pub async fn dedicated_client(&self) -> anyhow::Result<redis::Client> {
        client_for(&self.target.url, &self.target.options).await
    }

    /// The server's `redis_version`, or `unknown` when `INFO` does not say.
    pub async fn server_version(&mut self) -> RedisResult<String> {
        let info: String = redis::cmd("INFO").arg("server").query_async(self).await?;
        Ok(info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_string())
    }

    fn current(&self) -> Current {
        self.current.read().expect("redis connection lock").clone()
    }

    /// After an error that may mean a failover: asks the sentinels where the master is and
    /// swaps connections if it moved. True when the connection now in use is newer than the
    /// one that failed.
    async fn follow_master(&self, follow: &Follow, failed: u64) -> bool {
        let mut asked = follow.asking.lock().await;
        if self.current().generation != failed {
            return true;
        }
        if asked.is_some_and(|at| at.elapsed() < RESOLVE_EVERY) {
            return false;
        }
        *asked = Some(Instant::now());
        let client = match client_for(&self.target.url, &self.target.options).await {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!("cannot ask the sentinels for the current master: {error:#}");
                return false;
            }
        };
        let address = client.get_connection_info().addr().to_string();
        if *follow.master.lock().expect("master lock") == address {
            return false;
        }
        match manager(client, &self.target.options).await {
            Ok(conn) => {
                tracing::warn!("Redis master moved to {address} (failover); using it from now on");
                *follow.master.lock().expect("master lock") = address;
                let mut current = self.current.write().expect("redis connection lock");
                current.conn = conn;
                current.generation += 1;
                true
            }
            Err(error) => {
                tracing::warn!("cannot connect to the new Redis master {address}: {error:#}");
                false
            }
        }
    }

    /// Runs one request, following a failover when the error says the master moved. A
    /// command refused with READONLY did nothing, so it is sent again to the new master;
    /// any other failure is returned for the caller to retry as it sees fit.
    async fn request<'a, T, F>(&'a self, send: F) -> RedisResult<T>
    where
        F: Fn(ConnectionManager) -> RedisFuture<'a, T>,
    {
        let Current { conn, generation } = self.current();
        let result = send(conn).await;
        let (Some(follow), Err(error)) = (&self.follow, &result) else {
            return result;
        };
        let read_only = is_read_only(error);
        if !(read_only || error.is_io_error() || error.is_connection_dropped()) {
            return result;
        }
        if self.follow_master(follow, generation).await && read_only {
            return send(self.current().conn).await;
        }
        result
    }
}

/// Whether the server refused a write because it is a replica (also inside a script or
/// transaction, where the code is wrapped in another error).
fn is_read_only(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
        || error.to_string().contains("READONLY")
}

/// The reconnecting connection to one server; a TLS failure is put in words naming it.
async fn manager(
    client: redis::Client,
    options: &ConnectOptions,
) -> anyhow::Result<ConnectionManager> {
    let server = client.get_connection_info().addr().to_string();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(options.connect_timeout))
        .set_response_timeout(Some(options.reply_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(|e| explain(e, &server))
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let this: &'a RedisConn = self;
        Box::pin(
            this.request(move |mut conn| {
                Box::pin(async move { conn.req_packed_command(cmd).await })
            }),
        )
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let this: &'a RedisConn = self;
        Box::pin(this.request(move |mut conn| {
            Box::pin(async move { conn.req_packed_commands(pipeline, offset, count).await })
        }))
    }

    fn get_db(&self) -> i64 {
        self.current().conn.get_db()
    }
}
