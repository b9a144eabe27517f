//! `manage webhook_receiver`: NetBox's listener for checking what webhooks send. It answers every
//! request with `200 Webhook received!` and prints the request line, headers and body; Ctrl-C or
//! SIGTERM stops it. The server itself is [`crate::receiver`].

use std::{net::IpAddr, time::Duration};

use tokio::net::TcpListener;

use crate::{
    receiver::{self, signature::Verifier, ReceiverOptions},
    signals::StopSignals,
    CommandError, CommandResult, Context,
};

/// Options of `manage webhook_receiver`.
#[derive(clap::Args, Debug)]
pub struct WebhookReceiverArgs {
    /// Port to listen on; 0 picks a free one (the Listening line shows which)
    #[arg(long, value_name = "PORT", default_value_t = 9000)]
    pub port: u16,

    /// IP address to listen on, e.g. 0.0.0.0 or :: for every interface (the port is --port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Hide HTTP request headers
    #[arg(long)]
    pub no_headers: bool,

    /// Print every body exactly as received (no JSON pretty-printing)
    #[arg(long)]
    pub raw: bool,

    /// Print one JSON object per request, on one line, for scripts
    #[arg(long)]
    pub json: bool,

    /// Answer requests with this status code instead of 200
    #[arg(long, value_name = "CODE", default_value_t = 200,
          value_parser = clap::value_parser!(u16).range(200..=599))]
    pub status: u16,

    /// Check X-Hook-Signature (HMAC-SHA512 of the body) with this secret and print the result
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,

    /// Refuse bodies larger than this with 413: bytes, or with a unit (512KiB, 10MiB, 1MB)
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = receiver::parse_size)]
    pub max_body: u64,

    /// Wait this many milliseconds before answering each request (to play a slow endpoint)
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,

    /// Seconds one request (head and body) may take to arrive, and an idle connection may wait
    /// for the next; then the connection is closed
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub read_timeout: Duration,

    /// Connections served at once; more are answered 503 and closed
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
}

crate::command! {
    name: "webhook_receiver", group: "webhooks",
    about: "Start a simple listener to display received HTTP requests",
    args: WebhookReceiverArgs, run: webhook_receiver,
    // It uses no settings, so a broken Redis URL in manage.toml must not stop it.
    requires_system_checks: false,
}

async fn webhook_receiver(ctx: Context, args: WebhookReceiverArgs) -> CommandResult {
    let mut signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot listen for signals: {e}")))?;
    let listener = TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| CommandError::new(format!("cannot listen on {}: {e}", address(&args))))?;
    let port = listener
        .local_addr()
        .map_err(|e| CommandError::new(format!("cannot read the listening port: {e}")))?
        .port();
    let host = match args.bind {
        IpAddr::V4(ip) if ip == std::net::Ipv4Addr::LOCALHOST => "localhost".to_string(),
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    // With --json, standard output is JSON lines only: what is said to the person goes to stderr.
    let say = if args.json { ctx.err() } else { ctx.out() };
    say.line(format!(
        "Listening on port http://{host}:{port}. Stop with CONTROL-C."
    ));
    let options = ReceiverOptions {
        no_headers: args.no_headers,
        raw: args.raw,
        json: args.json,
        status: args.status,
        verifier: args.secret.as_deref().map(Verifier::new),
        max_body: args.max_body,
        read_timeout: args.read_timeout,
        // Lowered, with a warning, to what the file-descriptor limit leaves room for.
        max_connections: crate::serve::Limits {
            header_timeout: args.read_timeout,
            max_connections: args.max_connections as usize,
            setting: "--max-connections",
        }
        .within_descriptors()
        .max_connections,
        delay: Duration::from_millis(args.delay),
        ..ReceiverOptions::default()
    };
    let (sink, writer) = receiver::sink::start(ctx.out().clone());
    crate::notify::ready(&format!("listening on port {port}"));
    receiver::serve(listener, options, sink, async move {
        signals.recv().await;
    })
    .await;
    writer.finish().await;
    say.line("\nExiting...");
    Ok(())
}

/// `ADDR:PORT` as the user asked for it, for error messages.
fn address(args: &WebhookReceiverArgs) -> String {
    std::net::SocketAddr::new(args.bind, args.port).to_string()
}

/// A positive number of seconds, fractions allowed.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("expected a positive number of seconds, found {text:?}"))
}
