//! `manage rqsuspend`: stops job taking on every worker, RQ-wide, until `rqresume`.

use crate::{rq::suspension, CommandResult, Context};

/// Options of `manage rqsuspend`.
#[derive(clap::Args, Debug)]
pub struct RqSuspendArgs {
    /// Resume by itself after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
}

crate::command! {
    name: "rqsuspend", group: "rq", about: "Suspend all workers: running jobs finish, no new job starts",
    args: RqSuspendArgs, run: rqsuspend,
}

async fn rqsuspend(ctx: Context, args: RqSuspendArgs) -> CommandResult {
    let mut conn = ctx.redis().await?;
    suspension::suspend(&mut conn, args.duration)
        .await
        .map_err(|e| ctx.unreachable(e))?;
    match args.duration {
        Some(seconds) => ctx.out().line(format!("Suspending workers for {seconds} seconds. No new jobs will be started during that time, but current jobs will be completed.")),
        None => ctx.out().line("Suspending workers. No new jobs will be started. But current jobs will be completed."),
    }
    Ok(())
}
