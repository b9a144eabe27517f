//! `manage rqresume`: lets suspended workers take jobs again.

use crate::{rq::suspension, CommandResult, Context};

/// Options of `manage rqresume`.
#[derive(clap::Args, Debug)]
pub struct RqResumeArgs {}

crate::command! {
    name: "rqresume", group: "rq", about: "Resume suspended workers",
    args: RqResumeArgs, run: rqresume,
}

async fn rqresume(ctx: Context, _args: RqResumeArgs) -> CommandResult {
    let mut conn = ctx.redis().await?;
    suspension::resume(&mut conn)
        .await
        .map_err(|e| ctx.unreachable(e))?;
    ctx.out().line("Resuming workers.");
    Ok(())
}
