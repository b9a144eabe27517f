//! `manage rqstats`: per queue, the jobs in each registry and the workers serving it; per worker,
//! its state, current job, counts and heartbeat. `--interval` redraws it like `top`.

use std::time::Duration;

use crate::{
    signals::StopSignals,
    tasks::{stats, text},
    CommandError, CommandResult, Context,
};

/// Options of `manage rqstats`.
#[derive(clap::Args, Debug)]
pub struct RqStatsArgs {
    /// Print JSON for scripts: {"queues": [...], "workers": [...], "suspended": bool}.
    #[arg(long)]
    pub json: bool,
    /// Refresh every SECONDS until Ctrl-C: redrawn in place on a terminal, one block (or JSON
    /// line) per refresh otherwise.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: Option<u64>,
}

crate::command! {
    name: "rqstats", group: "rq", about: "Show queues, job counts per registry, and workers",
    args: RqStatsArgs, run: rqstats,
}

/// Clears the terminal and moves the cursor home, as `top` redraws.
const CLEAR: &str = "\x1b[H\x1b[2J";

async fn rqstats(ctx: Context, args: RqStatsArgs) -> CommandResult {
    let Some(seconds) = args.interval else {
        let block = render(&ctx, &args).await?;
        ctx.out().write_bytes(block.as_bytes());
        return Ok(());
    };
    let mut signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot install signal handlers: {e}")))?;
    let redraw = ctx.out().is_terminal() && !args.json;
    let mut first = true;
    loop {
        let block = match render(&ctx, &args).await {
            Ok(block) => block,
            Err(error) if !first => format!("{}\n", error.message()),
            Err(error) => return Err(error),
        };
        if redraw {
            ctx.out().write_bytes(
                format!("{CLEAR}Every {seconds} s; Ctrl-C to stop. {block}").as_bytes(),
            );
        } else if args.json || first {
            ctx.out().write_bytes(block.as_bytes());
        } else {
            ctx.out().write_bytes(format!("\n{block}").as_bytes());
        }
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            _ = signals.recv() => return Ok(()),
        }
    }
}

async fn render(ctx: &Context, args: &RqStatsArgs) -> Result<String, CommandError> {
    let mut conn = ctx.redis().await?;
    let overview = stats::overview(&mut conn)
        .await
        .map_err(|e| super::task_error(ctx, e))?;
    let now = chrono::Utc::now();
    Ok(if args.json {
        format!(
            "{}\n",
            serde_json::to_string(&overview).expect("stats serialize")
        )
    } else if args.interval.is_some() {
        format!(
            "{}\n{}",
            now.format("%Y-%m-%d %H:%M:%S UTC"),
            text::overview(&overview, now)
        )
    } else {
        text::overview(&overview, now)
    })
}
