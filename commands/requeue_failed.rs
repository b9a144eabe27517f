//! `manage requeue_failed`: puts failed jobs back on their queues, all of them or by id, in
//! batches of atomic moves, so an interrupted run never loses or duplicates a job.

use std::collections::BTreeMap;

use crate::{
    rq::{
        keys::{self, Registry},
        queue,
        registry::{self, Requeued},
    },
    CommandError, CommandResult, Context,
};

/// Jobs moved per script call.
const BATCH: usize = 1000;

/// Options of `manage requeue_failed`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["all", "job_ids"])))]
pub struct RequeueFailedArgs {
    /// Job ids to requeue.
    pub job_ids: Vec<String>,
    /// Requeue every failed job.
    #[arg(long)]
    pub all: bool,
    /// Only this queue (repeatable) [default: every queue in rq:queues].
    #[arg(long = "queue", short = 'q', value_name = "QUEUE")]
    pub queues: Vec<String>,
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
    let mut conn = ctx.redis().await?;
    let unreachable = |e: redis::RedisError| ctx.unreachable(e);
    let queues = if args.queues.is_empty() {
        queue::all_names(&mut conn).await.map_err(unreachable)?
    } else {
        args.queues.clone()
    };
    let mut per_queue: BTreeMap<String, u64> = BTreeMap::new();
    let mut not_found: Vec<String> = Vec::new();

    if args.all {
        let now = chrono::Utc::now().timestamp();
        let mut total = 0;
        for queue in &queues {
            let key = Registry::Failed.key(queue);
            if !args.dry_run {
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg(0)
                    .arg(now)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(unreachable)?;
            }
            let count: u64 = registry::count(&mut conn, Registry::Failed, queue)
                .await
                .map_err(unreachable)?;
            total += count;
        }
        let progress = progress_bar(&ctx, total);
        for queue in &queues {
            if args.dry_run {
                let count = registry::count(&mut conn, Registry::Failed, queue)
                    .await
                    .map_err(unreachable)?;
                if count > 0 {
                    per_queue.insert(queue.clone(), count);
                }
                continue;
            }
            loop {
                let ids = registry::job_ids(&mut conn, Registry::Failed, queue, 0, BATCH as isize)
                    .await
                    .map_err(unreachable)?;
                if ids.is_empty() {
                    break;
                }
                let pairs: Vec<(String, String)> =
                    ids.iter().map(|id| (queue.clone(), id.clone())).collect();
                let results = registry::requeue_failed(&mut conn, &pairs)
                    .await
                    .map_err(unreachable)?;
                let moved = results.iter().filter(|r| **r == Requeued::Yes).count() as u64;
                if moved > 0 {
                    *per_queue.entry(queue.clone()).or_default() += moved;
                }
                if let Some(bar) = &progress {
                    bar.inc(ids.len() as u64);
                }
            }
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
    } else {
        let mut pairs = Vec::new();
        for id in &args.job_ids {
            if !keys::valid_job_id(id) {
                not_found.push(id.clone());
                continue;
            }
            let origin: Option<String> = redis::cmd("HGET")
                .arg(keys::job(id))
                .arg("origin")
                .query_async(&mut conn)
                .await
                .map_err(unreachable)?;
            match origin.filter(|o| args.queues.is_empty() || args.queues.contains(o)) {
                Some(origin) => pairs.push((origin, id.clone())),
                None => not_found.push(id.clone()),
            }
        }
        if args.dry_run {
            for (queue, id) in pairs {
                let score: Option<f64> = redis::cmd("ZSCORE")
                    .arg(Registry::Failed.key(&queue))
                    .arg(&id)
                    .query_async(&mut conn)
                    .await
                    .map_err(unreachable)?;
                match score {
                    Some(_) => *per_queue.entry(queue).or_default() += 1,
                    None => not_found.push(id),
                }
            }
        } else {
            for chunk in pairs.chunks(BATCH) {
                let results = registry::requeue_failed(&mut conn, chunk)
                    .await
                    .map_err(unreachable)?;
                for ((queue, id), result) in chunk.iter().zip(results) {
                    match result {
                        Requeued::Yes => *per_queue.entry(queue.clone()).or_default() += 1,
                        Requeued::NotFailed | Requeued::Gone => not_found.push(id.clone()),
                    }
                }
            }
        }
    }

    let total: u64 = per_queue.values().sum();
    if args.json {
        let value = serde_json::json!({
            "requeued": if args.dry_run { 0 } else { total },
            "would_requeue": if args.dry_run { total } else { 0 },
            "dry_run": args.dry_run,
            "queues": per_queue,
            "not_found": not_found,
        });
        ctx.out().line(value);
    } else if total == 0 && not_found.is_empty() {
        ctx.out().line("Nothing to do");
    } else {
        let noun = if total == 1 { "job" } else { "jobs" };
        ctx.out().line(if args.dry_run {
            format!("Would requeue {total} {noun}")
        } else {
            format!("Requeued {total} {noun}")
        });
    }
    if not_found.is_empty() {
        return Ok(());
    }
    for id in &not_found {
        ctx.err()
            .line(format!("Job {id} is not in a failed job registry"));
    }
    Err(CommandError::new(format!(
        "{} job(s) could not be requeued",
        not_found.len()
    )))
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
