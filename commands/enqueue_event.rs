//! `manage enqueue_event`: an object changed; enqueue one webhook job for every event rule
//! that matches. `--lines` reads many events (one JSON object a line) for bulk use.

use std::sync::Arc;

use serde_json::Value;

use crate::{
    pipeline::{enqueue_bulk, lines, EnqueuedJob, Routing},
    trace::TraceParent,
    webhooks::{Event, EventType},
    CommandError, CommandResult, Context,
};

/// Options of `manage enqueue_event`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["lines", "object_type"])))]
pub struct EnqueueEventArgs {
    /// The object's type, `app_label.model` (e.g. dcim.site).
    #[arg(long, requires_all = ["event", "data"])]
    pub object_type: Option<String>,
    /// What happened: created, updated, deleted (or object_created, …).
    #[arg(long, value_parser = parse_event_type)]
    pub event: Option<EventType>,
    /// The object's data: JSON, @FILE, or - for standard input.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub data: Option<String>,
    /// Pre- and post-change snapshots as JSON.
    #[arg(long, value_name = "JSON")]
    pub snapshots: Option<String>,
    /// Who made the change.
    #[arg(long)]
    pub username: Option<String>,
    /// The id of the request that made the change.
    #[arg(long)]
    pub request_id: Option<String>,
    /// The HTTP method of the request that made the change: with it (or --request-path) the
    /// event carries NetBox 4.6's `request` (`id`, `method`, `path`, `user`, from
    /// --request-id and --username).
    #[arg(long, value_name = "METHOD")]
    pub request_method: Option<String>,
    /// The path of the request that made the change (NetBox's `request.path`).
    #[arg(long, value_name = "PATH")]
    pub request_path: Option<String>,
    /// NetBox's `request` context as one JSON object, as given (NetBox 4.7's `path_info` and
    /// `GET` included); instead of --request-method and --request-path.
    #[arg(long, value_name = "JSON", conflicts_with_all = ["request_method", "request_path"])]
    pub request: Option<String>,
    /// ISO 8601 time of the change [default: now].
    #[arg(long)]
    pub timestamp: Option<String>,
    /// The change's W3C traceparent; its deliveries continue the trace [default: a new trace].
    #[arg(long, value_parser = TraceParent::parse, value_name = "TRACEPARENT")]
    pub traceparent: Option<TraceParent>,
    /// Read events from standard input, one JSON object a line
    /// ({"object_type", "event", "data", "snapshots"?, "username"?, "request_id"?, "timestamp"?,
    /// "traceparent"?}).
    #[arg(long, conflicts_with_all = ["object_type", "event", "data", "snapshots", "username", "request_id", "timestamp", "traceparent"])]
    pub lines: bool,
    /// The longest line (`--lines`) or `--data -` input accepted (bytes, or 512KiB, 10MiB…):
    /// an event bigger than a webhook body may be could never be delivered [default: [http]
    /// max_body, 10 MiB].
    #[arg(long, value_name = "SIZE", value_parser = crate::size::parse_size)]
    pub max_line: Option<u64>,
    /// Print the jobs as JSON (id, rule, webhook, queue).
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "enqueue_event", group: "webhooks", about: "Enqueue the webhooks an object change triggers",
    args: EnqueueEventArgs, run: enqueue_event,
}

fn parse_event_type(text: &str) -> Result<EventType, String> {
    EventType::parse(text).ok_or_else(|| {
        format!(
            "expected created, updated, deleted, or NetBox's object_created, … ; found {text:?}"
        )
    })
}

fn usage(message: String) -> CommandError {
    CommandError::new(message).with_code(2)
}

/// All of standard input as text, no line longer than `max_line`; a longer line or bytes that
/// are not UTF-8 are a usage error naming their line.
fn read_stdin(max_line: u64) -> Result<String, CommandError> {
    lines::read_limited(std::io::stdin().lock(), max_line).map_err(bad_input)
}

/// A bad line of standard input: a usage error, and nothing is enqueued.
fn bad_input(error: lines::LineError) -> CommandError {
    usage(format!("standard input, {error}; nothing was enqueued"))
}

/// `--data`: inline JSON, `@FILE`, or `-`; must be a JSON object.
fn read_data(spec: &str, max_line: u64) -> Result<Value, CommandError> {
    let (text, origin) = match spec {
        "-" => (read_stdin(max_line)?, "standard input".to_string()),
        path if path.starts_with('@') => (
            std::fs::read_to_string(&path[1..])
                .map_err(|e| usage(format!("--data {path}: cannot read the file: {e}")))?,
            path[1..].to_string(),
        ),
        inline => (inline.to_string(), "--data".to_string()),
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{origin}: not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(usage(format!(
            "{origin}: expected a JSON object (the object's data), found {}",
            kind(&value)
        )));
    }
    Ok(value)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every line of standard input as an event; any bad line is an error naming it, and then
/// nothing is enqueued.
fn read_lines(max_line: u64) -> Result<Vec<Event>, CommandError> {
    lines::parse(&read_stdin(max_line)?).map_err(bad_input)
}

async fn enqueue_event(ctx: Context, args: EnqueueEventArgs) -> CommandResult {
    let max_line = args
        .max_line
        .unwrap_or(ctx.settings().http.max_body.bytes() as u64);
    let events = if args.lines {
        // Reading and parsing block (and use every core): keep them off the async runtime.
        tokio::task::spawn_blocking(move || read_lines(max_line))
            .await
            .map_err(|e| CommandError::new(format!("reading events failed: {e}")))??
    } else {
        let snapshots = args
            .snapshots
            .as_deref()
            .map(|s| {
                serde_json::from_str::<Value>(s)
                    .map_err(|e| usage(format!("--snapshots: not valid JSON: {e}")))
            })
            .transpose()?;
        vec![Event {
            object_type: args.object_type.clone().unwrap_or_default(),
            event_type: args
                .event
                .ok_or_else(|| usage("--event is required".into()))?,
            data: read_data(args.data.as_deref().unwrap_or("{}"), max_line)?,
            snapshots,
            username: args.username.clone(),
            request_id: args.request_id.clone(),
            timestamp: args.timestamp.clone(),
            traceparent: args.traceparent,
            request: request(&args)?,
            context: None,
            extra: Default::default(),
        }]
    };
    let mut conn = ctx.redis().await?;
    let event_count = events.len();
    let settings = ctx.settings();
    let routing = Routing::new(&settings.event_rules, &settings.webhooks).with_ttls(
        Some(settings.worker.result_ttl),
        Some(settings.worker.failure_ttl),
    );
    let all: Vec<EnqueuedJob> = enqueue_bulk(&mut conn, Arc::new(routing), events)
        .await
        .map_err(|e| CommandError::new(e.describe(&ctx.redis_display())))?
        .into_iter()
        .flatten()
        .collect();
    if args.json {
        ctx.out()
            .line(serde_json::json!({ "events": event_count, "jobs": all }));
    } else {
        let mut text = String::with_capacity(all.len() * 37);
        for job in &all {
            text.push_str(&job.id);
            text.push('\n');
        }
        ctx.out().write_bytes(text.as_bytes());
    }
    if all.is_empty() {
        tracing::info!("No enabled event rule matched; nothing was enqueued");
    } else {
        tracing::debug!("{event_count} event(s) gave {} job(s)", all.len());
    }
    Ok(())
}

/// NetBox 4.6's `request` from the flags: `--request` as given, else built in NetBox's key order
/// from `--request-method` and `--request-path` with `--request-id` and `--username`.
fn request(args: &EnqueueEventArgs) -> Result<Option<Value>, CommandError> {
    if let Some(text) = &args.request {
        return match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => Ok(Some(value)),
            Ok(_) => Err(usage("--request: expected a JSON object such as {\"id\": …, \"method\": \"POST\", \"path\": \"/api/dcim/sites/\", \"user\": \"admin\"}".into())),
            Err(e) => Err(usage(format!("--request: not valid JSON: {e}"))),
        };
    }
    if args.request_method.is_none() && args.request_path.is_none() {
        return Ok(None);
    }
    let mut request = serde_json::Map::new();
    request.insert("id".into(), args.request_id.clone().into());
    request.insert("method".into(), args.request_method.clone().into());
    request.insert("path".into(), args.request_path.clone().into());
    request.insert("user".into(), args.username.clone().into());
    Ok(Some(Value::Object(request)))
}
