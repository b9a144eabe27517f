//! `manage rqjob JOB_ID`: shows one job (function, arguments, status, timestamps, worker, result
//! or failure, retries left), or acts on it: `--requeue`, `--delete`, `--stop`, `--enqueue-again`.

use crate::{
    tasks::{actions, detail, text},
    CommandResult, Context,
};

/// Options of `manage rqjob`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("action").args(["requeue", "delete", "stop", "enqueue_again"])))]
pub struct RqJobArgs {
    /// The job id.
    pub job_id: String,
    /// Put the failed (or stopped) job back on its queue.
    #[arg(long)]
    pub requeue: bool,
    /// Delete the job everywhere: queue, registries, hash, results.
    #[arg(long)]
    pub delete: bool,
    /// Ask the worker running the job to stop it.
    #[arg(long)]
    pub stop: bool,
    /// Put an ended job (finished, failed, stopped, canceled) on its queue again, e.g. to send a
    /// webhook again.
    #[arg(long)]
    pub enqueue_again: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "rqjob", group: "rq", about: "Show one job, or requeue, delete, stop or enqueue it again",
    args: RqJobArgs, run: rqjob,
}

async fn rqjob(ctx: Context, args: RqJobArgs) -> CommandResult {
    crate::tasks::check_job_id(&args.job_id).map_err(|e| super::task_error(&ctx, e))?;
    let mut conn = ctx.redis().await?;
    let id = args.job_id.as_str();
    let action = if args.requeue {
        Some(("requeue", actions::requeue(&mut conn, id).await))
    } else if args.delete {
        Some(("delete", actions::delete(&mut conn, id).await))
    } else if args.stop {
        Some(("stop", actions::stop(&mut conn, id).await))
    } else if args.enqueue_again {
        Some(("enqueue_again", actions::enqueue_again(&mut conn, id).await))
    } else {
        None
    };
    if let Some((name, outcome)) = action {
        let done = outcome.map_err(|e| super::task_error(&ctx, e))?;
        if args.json {
            ctx.out().line(serde_json::json!({
                "job_id": id,
                "action": name,
                "message": done.message,
                "queue": done.queue,
                "status_before": done.status_before,
            }));
        } else {
            ctx.out().line(&done.message);
        }
        return Ok(());
    }
    let job = detail::job(&mut conn, ctx.settings(), id)
        .await
        .map_err(|e| super::task_error(&ctx, e))?;
    if args.json {
        ctx.out()
            .line(serde_json::to_string(&job).expect("job detail serializes"));
    } else {
        ctx.out()
            .write_bytes(text::job_detail(&job, chrono::Utc::now()).as_bytes());
    }
    Ok(())
}
