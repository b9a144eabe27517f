//! `manage rqenqueue FUNC`: puts one job on a queue, as `rq enqueue` does, and prints its id.

use serde_json::Value;

use crate::{
    rq::{
        job::{NewJob, Retry},
        keys, queue,
    },
    CommandError, CommandResult, Context,
};

/// Options of `manage rqenqueue`.
#[derive(clap::Args, Debug)]
pub struct RqEnqueueArgs {
    /// Dotted function name, e.g. manage.echo or extras.webhooks.send_webhook.
    pub func: String,
    /// Queue name.
    #[arg(long, short = 'q', default_value = "default")]
    pub queue: String,
    /// Positional arguments as a JSON array.
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// Keyword arguments as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub kwargs: Option<String>,
    /// Job timeout in seconds (-1: none).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::rq::DEFAULT_TIMEOUT, allow_negative_numbers = true)]
    pub timeout: i64,
    /// Use this job id instead of a random one.
    #[arg(long)]
    pub job_id: Option<String>,
    /// Seconds to keep the result (-1: forever) [default: [worker] result_ttl, 500].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub result_ttl: Option<i64>,
    /// Seconds to keep a failure (-1: forever) [default: [worker] failure_ttl, 7 days].
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub failure_ttl: Option<i64>,
    /// Retry this many times on failure.
    #[arg(long, value_name = "N")]
    pub retry: Option<i64>,
    /// Seconds between retries (comma-separated list).
    #[arg(long, value_name = "SECONDS", value_delimiter = ',')]
    pub retry_interval: Vec<i64>,
    /// Put the job at the front of the queue.
    #[arg(long)]
    pub at_front: bool,
    /// Enqueue this many copies (batched; for canaries and load tests).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub count: u64,
}

crate::command! {
    name: "rqenqueue", group: "rq", about: "Enqueue one job and print its id",
    args: RqEnqueueArgs, run: rqenqueue,
}

fn parse_json(flag: &str, text: Option<&str>) -> Result<Option<Value>, CommandError> {
    text.map(|t| {
        serde_json::from_str(t)
            .map_err(|e| CommandError::new(format!("--{flag}: not valid JSON: {e}")).with_code(2))
    })
    .transpose()
}

async fn rqenqueue(ctx: Context, args: RqEnqueueArgs) -> CommandResult {
    let positional = match parse_json("args", args.args.as_deref())? {
        None => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(CommandError::new("--args: expected a JSON array").with_code(2)),
    };
    let keyword = match parse_json("kwargs", args.kwargs.as_deref())? {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(CommandError::new("--kwargs: expected a JSON object").with_code(2)),
    };
    if !keys::valid_queue_name(&args.queue) {
        return Err(CommandError::new(format!("invalid queue name {:?}", args.queue)).with_code(2));
    }
    let mut job = NewJob::new(args.queue, args.func, positional, keyword);
    if args.count > 1 && args.job_id.is_some() {
        return Err(CommandError::new("--job-id and --count cannot be used together").with_code(2));
    }
    if let Some(id) = args.job_id {
        if !keys::valid_job_id(&id) {
            return Err(CommandError::new(format!(
                "invalid job id {id:?}: use letters, digits, '-' and '_'"
            ))
            .with_code(2));
        }
        job.id = id;
    }
    job.timeout = args.timeout;
    job.result_ttl = args.result_ttl.or(Some(ctx.settings().worker.result_ttl));
    job.failure_ttl = args.failure_ttl.or(Some(ctx.settings().worker.failure_ttl));
    job.at_front = args.at_front;
    if let Some(max) = args.retry {
        job.retry = Some(Retry {
            retries_left: max,
            intervals: if args.retry_interval.is_empty() {
                vec![0]
            } else {
                args.retry_interval
            },
        });
    }
    let mut conn = ctx.redis().await?;
    let mut left = args.count;
    while left > 0 {
        let batch: Vec<NewJob> = (0..left.min(1000))
            .map(|i| {
                let mut copy = job.clone();
                if i > 0 || args.count > 1 {
                    copy.id = uuid::Uuid::new_v4().to_string();
                }
                copy
            })
            .collect();
        left -= batch.len() as u64;
        let ids = queue::enqueue_many(&mut conn, &batch)
            .await
            .map_err(|e| ctx.unreachable(e))?;
        ctx.out()
            .write_bytes(format!("{}\n", ids.join("\n")).as_bytes());
    }
    Ok(())
}
