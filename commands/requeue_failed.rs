//! `manage requeue_failed`: puts failed jobs back on their queues, all of them or by id, in
//! batches of atomic moves, so an interrupted run never loses or duplicates a job.

use crate::{
    tasks::{
        requeue::{self, Progress},
        when,
    },
    CommandError, CommandResult, Context,
};

/// Options of `manage requeue_failed`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["all", "job_ids", "webhook", "since", "until", "status_code", "reason"])))]
pub struct RequeueFailedArgs {
    /// Job ids to requeue.
    pub job_ids: Vec<String>,
    /// Requeue every failed job (the filters below pick among them; a filter alone means the
    /// same).
    #[arg(long, conflicts_with = "job_ids")]
    pub all: bool,
    /// Only this queue (repeatable) [default: every queue in rq:queues].
    #[arg(long = "queue", short = 'q', value_name = "QUEUE")]
    pub queues: Vec<String>,
    /// Only failed jobs of this webhook.
    #[arg(long, value_name = "NAME")]
    pub webhook: Option<String>,
    /// Only jobs that ended since an age (30m, 2h, 7d) or a time (2026-11-29T10:00:00Z).
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// Only jobs that ended before an age or a time.
    #[arg(long, value_name = "DURATION|TIME")]
    pub until: Option<String>,
    /// Only jobs whose last attempt got this HTTP status (503) or class (5xx, 4xx).
    #[arg(long, value_name = "STATUS")]
    pub status_code: Option<String>,
    /// Only jobs whose failure reason matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub reason: Option<String>,
    /// Say what would be requeued; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "requeue_failed", group: "rq", about: "Put failed jobs back on their queues",
    args: RequeueFailedArgs, run: requeue_failed,
}

async fn requeue_failed(ctx: Context, args: RequeueFailedArgs) -> CommandResult {
    // As `deliveries` and `webhooks --reset`: a name not configured is a typo, not "nothing".
    if let Some(name) = args
        .webhook
        .as_ref()
        .filter(|name| !ctx.settings().webhooks.iter().any(|w| &w.name == *name))
    {
        return Err(CommandError::new(format!(
            "--webhook: no [[webhooks]] entry is named {name:?}"
        ))
        .with_code(2));
    }
    let request = requeue::Request {
        ids: args.job_ids.clone(),
        queues: args.queues.clone(),
        filter: filter(&args)?,
        dry_run: args.dry_run,
    };
    let mut conn = ctx.redis().await?;
    let mut bar = None;
    let report = requeue::requeue(&mut conn, &request, &mut |step| match step {
        Progress::Total(total) => bar = progress_bar(&ctx, total),
        Progress::Moved(n) => {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        }
    })
    .await
    .map_err(|e| super::task_error(&ctx, e))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print(&ctx, &args, &report);
    if report.not_found.is_empty() {
        return Ok(());
    }
    for id in &report.not_found {
        ctx.err()
            .line(format!("Job {id} is not in a failed job registry"));
    }
    Err(CommandError::new(format!(
        "{} job(s) could not be requeued",
        report.not_found.len()
    )))
}

/// The filters the flags ask for; a bad value is a usage error naming its flag.
fn filter(args: &RequeueFailedArgs) -> Result<requeue::Filter, CommandError> {
    let usage = |flag: &str, e: String| CommandError::new(format!("{flag}: {e}")).with_code(2);
    let now = chrono::Utc::now();
    let time = |flag: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| when::parse(t, now).map_err(|e| usage(flag, e)))
            .transpose()
    };
    Ok(requeue::Filter {
        webhook: args.webhook.clone(),
        since: time("--since", &args.since)?,
        until: time("--until", &args.until)?,
        status: args
            .status_code
            .as_deref()
            .map(|s| requeue::StatusMatch::parse(s).map_err(|e| usage("--status-code", e)))
            .transpose()?,
        reason: args
            .reason
            .as_deref()
            .map(|r| regex::Regex::new(r).map_err(|e| usage("--reason", e.to_string())))
            .transpose()?,
    })
}

fn print(ctx: &Context, args: &RequeueFailedArgs, report: &requeue::Report) {
    let total = report.total();
    if args.json {
        let value = serde_json::json!({
            "requeued": if args.dry_run { 0 } else { total },
            "would_requeue": if args.dry_run { total } else { 0 },
            "dry_run": args.dry_run,
            "queues": report.queues,
            "not_found": report.not_found,
        });
        ctx.out().line(value);
    } else if total == 0 && report.not_found.is_empty() {
        ctx.out().line("Nothing to do");
    } else {
        let noun = if total == 1 { "job" } else { "jobs" };
        ctx.out().line(if args.dry_run {
            format!("Would requeue {total} {noun}")
        } else {
            format!("Requeued {total} {noun}")
        });
    }
}

fn progress_bar(ctx: &Context, total: u64) -> Option<indicatif::ProgressBar> {
    if total < 1000 || !ctx.err().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "Requeueing {pos}/{len} [{bar:40}] {per_sec} {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    Some(bar)
}
