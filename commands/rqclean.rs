//! `manage rqclean`: removes old failed jobs (and finished ones, when asked) with their results,
//! and does RQ's registry maintenance: expired entries dropped, abandoned jobs taken back.

use crate::{
    tasks::{clean, when},
    CommandError, CommandResult, Context,
};

/// Options of `manage rqclean`.
#[derive(clap::Args, Debug)]
pub struct RqCleanArgs {
    /// Remove failed jobs that ended longer ago than this (30m, 12h, 7d) or before a time.
    #[arg(long, value_name = "DURATION")]
    pub failed_older_than: Option<String>,
    /// Also remove every finished job and its result.
    #[arg(long)]
    pub finished: bool,
    /// Only this queue (repeatable) [default: every queue in rq:queues].
    #[arg(long = "queue", short = 'q', value_name = "QUEUE")]
    pub queues: Vec<String>,
    /// Say what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "rqclean", group: "rq", about: "Remove old failed (and finished) jobs; clean registries as RQ's maintenance does",
    args: RqCleanArgs, run: rqclean,
}

async fn rqclean(ctx: Context, args: RqCleanArgs) -> CommandResult {
    let failed_before = args
        .failed_older_than
        .as_deref()
        .map(|text| {
            when::parse(text, chrono::Utc::now())
                .map_err(|e| CommandError::new(format!("--failed-older-than: {e}")).with_code(2))
        })
        .transpose()?;
    let request = clean::Request {
        queues: args.queues.clone(),
        failed_before,
        finished: args.finished,
        dry_run: args.dry_run,
    };
    let mut conn = ctx.redis().await?;
    let cleaned = clean::clean(&mut conn, &request)
        .await
        .map_err(|e| super::task_error(&ctx, e))?;
    if args.json {
        ctx.out()
            .line(serde_json::json!({ "dry_run": args.dry_run, "queues": cleaned }));
        return Ok(());
    }
    if cleaned.is_empty() {
        ctx.out().line("Nothing to do");
    }
    let verb = if args.dry_run { "would be" } else { "were" };
    for queue in &cleaned {
        ctx.out().line(format!(
            "{}: {} failed and {} finished jobs {verb} removed, {} expired registry entries {verb} dropped, {} abandoned jobs {verb} taken back",
            queue.queue, queue.failed_removed, queue.finished_removed, queue.expired_entries, queue.abandoned
        ));
    }
    Ok(())
}
