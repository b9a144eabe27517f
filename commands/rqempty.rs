//! `manage rqempty`: empties queues, as RQ's `rq empty` does.

use crate::{tasks::clean, CommandError, CommandResult, Context};

/// Options of `manage rqempty`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["queues", "all"])))]
pub struct RqEmptyArgs {
    /// Queues to empty.
    pub queues: Vec<String>,
    /// Empty every queue in rq:queues.
    #[arg(long)]
    pub all: bool,
    /// Print the result as JSON: {"queue": removed, …}.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "rqempty", group: "rq", about: "Empty queues: their jobs are deleted",
    args: RqEmptyArgs, run: rqempty,
}

async fn rqempty(ctx: Context, args: RqEmptyArgs) -> CommandResult {
    if args.all && !args.queues.is_empty() {
        return Err(CommandError::new("give queue names or --all, not both").with_code(2));
    }
    let mut conn = ctx.redis().await?;
    let removed = clean::empty(&mut conn, &args.queues)
        .await
        .map_err(|e| super::task_error(&ctx, e))?;
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = removed
            .iter()
            .map(|(queue, count)| (queue.clone(), (*count).into()))
            .collect();
        ctx.out().line(serde_json::Value::Object(map));
    } else if removed.is_empty() {
        ctx.out().line("Nothing to do");
    } else {
        for (queue, count) in removed {
            ctx.out()
                .line(format!("{count} jobs removed from {queue} queue"));
        }
    }
    Ok(())
}
