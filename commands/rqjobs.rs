//! `manage rqjobs`: lists jobs by queue and status (id, function, created, ended, status, short
//! reason), newest first except for queued, scheduled and deferred jobs (next first).

use crate::{
    rq::queue,
    tasks::{
        self,
        jobs::{self, ListStatus},
        text,
    },
    CommandResult, Context,
};

/// Options of `manage rqjobs`.
#[derive(clap::Args, Debug)]
pub struct RqJobsArgs {
    /// Only this queue (repeatable) [default: every queue in rq:queues].
    #[arg(long = "queue", short = 'q', value_name = "QUEUE")]
    pub queues: Vec<String>,
    /// Only jobs in this status (repeatable) [default: every status].
    #[arg(long = "status", short = 's', value_enum, value_name = "STATUS")]
    pub statuses: Vec<ListStatus>,
    /// List at most N jobs.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub limit: u64,
    /// Print JSON for scripts: {"jobs": [...], "total": N}.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "rqjobs", group: "rq", about: "List jobs by queue and status",
    args: RqJobsArgs, run: rqjobs,
}

async fn rqjobs(ctx: Context, args: RqJobsArgs) -> CommandResult {
    let mut conn = ctx.redis().await?;
    for name in &args.queues {
        tasks::check_queue(name).map_err(|e| super::task_error(&ctx, e))?;
    }
    let queues = if args.queues.is_empty() {
        queue::all_names(&mut conn)
            .await
            .map_err(|e| ctx.unreachable(e))?
    } else {
        args.queues.clone()
    };
    let statuses = if args.statuses.is_empty() {
        ListStatus::ALL.to_vec()
    } else {
        args.statuses.clone()
    };
    let mut listed = Vec::new();
    let mut total = 0u64;
    for queue in &queues {
        for status in &statuses {
            let room = args.limit.saturating_sub(listed.len() as u64);
            let page = jobs::list(&mut conn, queue, *status, 0, room.max(1))
                .await
                .map_err(|e| super::task_error(&ctx, e))?;
            total += page.total;
            listed.extend(page.jobs.into_iter().take(room as usize));
        }
    }
    if args.json {
        let value = serde_json::json!({ "jobs": listed, "total": total });
        ctx.out().line(value);
        return Ok(());
    }
    if listed.is_empty() {
        ctx.out().line("No jobs.");
        return Ok(());
    }
    ctx.out().write_bytes(text::job_list(&listed).as_bytes());
    if total > listed.len() as u64 {
        ctx.out().line(format!(
            "Showing {} of {total} jobs; use --limit, --queue or --status to see others.",
            listed.len()
        ));
    }
    Ok(())
}
