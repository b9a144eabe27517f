//! A real HTTP(S) server on loopback that records every request it gets, for webhook tests.
//! Its answer (status, delay, redirect) can be changed while it runs.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{connect_info::Connected, ConnectInfo, State},
    http::HeaderMap,
    response::IntoResponse,
    serve::IncomingStream,
    Router,
};

/// One request as the endpoint received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, `GET`, …
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: std::time::Instant,
    /// The client's address: one port per connection it opened.
    pub peer: SocketAddr,
}

impl Recorded {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct Behaviour {
    requests: Mutex<Vec<Recorded>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
    redirect: Mutex<Option<String>>,
    /// Statuses to answer before `status`, one per request.
    next: Mutex<std::collections::VecDeque<u16>>,
    /// Requests being answered now, and the most at once so far.
    current: AtomicU64,
    most: AtomicU64,
    /// While true, requests are recorded but not answered.
    held: AtomicBool,
    /// Requests recorded and waiting for `held` to clear.
    waiting: AtomicUsize,
    released: tokio::sync::Notify,
}

/// Counts a request in flight for as long as it is being answered.
struct InFlight<'a>(&'a Behaviour);

impl<'a> InFlight<'a> {
    fn new(behaviour: &'a Behaviour) -> Self {
        let now = behaviour.current.fetch_add(1, Ordering::SeqCst) + 1;
        behaviour.most.fetch_max(now, Ordering::SeqCst);
        Self(behaviour)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.current.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The server; stopped when dropped.
pub struct Endpoint {
    addr: SocketAddr,
    tls: bool,
    behaviour: Arc<Behaviour>,
    _runtime: tokio::runtime::Runtime,
}

/// The client's address, for telling its connections apart.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

async fn record(
    State(behaviour): State<Arc<Behaviour>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let _in_flight = InFlight::new(&behaviour);
    let at = std::time::Instant::now();
    let path = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let redirect = behaviour.redirect.lock().unwrap().clone();
    let delay = behaviour.delay_ms.load(Ordering::SeqCst);
    if delay > 0 && !path.starts_with("/landed") {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    behaviour.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        at,
        peer,
    });
    behaviour.waiting.fetch_add(1, Ordering::SeqCst);
    loop {
        let released = behaviour.released.notified();
        if !behaviour.held.load(Ordering::SeqCst) {
            break;
        }
        released.await;
    }
    behaviour.waiting.fetch_sub(1, Ordering::SeqCst);
    if let Some(location) = redirect.filter(|_| !path.starts_with("/landed")) {
        return (
            axum::http::StatusCode::FOUND,
            [(axum::http::header::LOCATION, location)],
            "moved",
        )
            .into_response();
    }
    let scripted = behaviour.next.lock().unwrap().pop_front();
    let status = scripted.unwrap_or_else(|| behaviour.status.load(Ordering::SeqCst));
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, format!("answer {}", status.as_u16())).into_response()
}

impl Endpoint {
    /// A plain HTTP endpoint answering 200.
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// An HTTPS endpoint with the given PEM certificate chain and key.
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Self {
        Self::start_inner(Some((cert_pem.to_string(), key_pem.to_string())))
    }

    fn start_inner(tls: Option<(String, String)>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let behaviour = Arc::new(Behaviour::default());
        behaviour.status.store(200, Ordering::SeqCst);
        let app = Router::new().fallback(record).with_state(behaviour.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let is_tls = tls.is_some();
        match tls {
            None => {
                let app = app.into_make_service_with_connect_info::<Peer>();
                runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
            }
            Some((cert, key)) => {
                let certs = rustls_pemfile_certs(&cert);
                let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(pem_der(
                    &key,
                    "PRIVATE KEY",
                ))
                .unwrap();
                let config = tokio_rustls::rustls::ServerConfig::builder()
                    .with_no_client_auth()
                    .with_single_cert(certs, key)
                    .unwrap();
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
                let app = app.into_make_service_with_connect_info::<Peer>();
                runtime.spawn(async move {
                    axum::serve(TlsListener { listener, acceptor }, app)
                        .await
                        .unwrap()
                });
            }
        }
        Self {
            addr,
            tls: is_tls,
            behaviour,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:<port>` (or https), without a trailing slash.
    pub fn base(&self) -> String {
        format!(
            "{}://127.0.0.1:{}",
            if self.tls { "https" } else { "http" },
            self.addr.port()
        )
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.behaviour.requests.lock().unwrap().clone()
    }

    /// How many requests arrived so far (cheaper than `requests()` for polling under load).
    pub fn received(&self) -> usize {
        self.behaviour.requests.lock().unwrap().len()
    }

    /// Answer with this status from now on.
    pub fn set_status(&self, status: u16) {
        self.behaviour.status.store(status, Ordering::SeqCst);
    }

    /// Answer the next requests with these statuses, one each, then as before.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.behaviour.next.lock().unwrap().extend(statuses);
    }

    /// The most requests it was answering at one time.
    pub fn most_at_once(&self) -> u64 {
        self.behaviour.most.load(Ordering::SeqCst)
    }

    /// Wait this long before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.behaviour
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// From now on, record requests but answer none until [`Endpoint::release`].
    pub fn hold(&self) {
        self.behaviour.held.store(true, Ordering::SeqCst);
    }

    /// Answers the requests held back, and the next ones at once.
    pub fn release(&self) {
        self.behaviour.held.store(false, Ordering::SeqCst);
        self.behaviour.released.notify_waiters();
    }

    /// How many requests are waiting for an answer (held back or being answered).
    pub fn waiting(&self) -> usize {
        self.behaviour.waiting.load(Ordering::SeqCst)
    }

    /// Answer 302 to this location (except on paths starting with `/landed`).
    pub fn set_redirect(&self, location: Option<&str>) {
        *self.behaviour.redirect.lock().unwrap() = location.map(str::to_string);
    }
}

struct TlsListener {
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.listener.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).expect("PEM begin") + begin.len();
    let stop = pem[start..].find(&end).expect("PEM end") + start;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn rustls_pemfile_certs(
    pem: &str,
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    vec![tokio_rustls::rustls::pki_types::CertificateDer::from(
        pem_der(pem, "CERTIFICATE"),
    )]
}

/// A certificate authority and a server certificate for 127.0.0.1 and localhost that it
/// signed: `(ca_pem, server_cert_pem, server_key_pem)`.
pub fn self_signed_ca() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "manage test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let server = params.signed_by(&server_key, &ca, &ca_key).unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

/// A certificate for 127.0.0.1 and localhost signed by its own key, as a quick test endpoint
/// has: `(cert_pem, key_pem)`.
pub fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (certified.cert.pem(), certified.key_pair.serialize_pem())
}
