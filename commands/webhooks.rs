//! `manage webhooks`: every configured webhook with its circuit, deliveries in flight, waiting
//! jobs, last status and failures in a row; `--reset NAME` closes a circuit.

use crate::{
    pipeline::limits,
    tasks::{text, webhooks},
    CommandError, CommandResult, Context,
};

/// Options of `manage webhooks`.
#[derive(clap::Args, Debug)]
pub struct WebhooksArgs {
    /// Print JSON for scripts: one object per webhook.
    #[arg(long)]
    pub json: bool,
    /// Close this webhook's circuit (also one opened by 410 Gone); its waiting jobs go back on
    /// their queues.
    #[arg(long, value_name = "NAME")]
    pub reset: Option<String>,
}

crate::command! {
    name: "webhooks", group: "webhooks", about: "Show every webhook's circuit, deliveries in flight, waiting jobs and last status",
    args: WebhooksArgs, run: show,
}

async fn show(ctx: Context, args: WebhooksArgs) -> CommandResult {
    let mut conn = ctx.redis().await?;
    if let Some(name) = &args.reset {
        if !ctx.settings().webhooks.iter().any(|w| &w.name == name) {
            return Err(
                CommandError::new(format!("no [[webhooks]] entry is named {name:?}")).with_code(2),
            );
        }
        let before = limits::reset(&mut conn, name)
            .await
            .map_err(|e| ctx.unreachable(e))?;
        ctx.out().line(format!(
            "Webhook {name}: circuit closed (it was {before}); waiting jobs go back on their queues."
        ));
        return Ok(());
    }
    let rows = webhooks::all(&mut conn, ctx.settings())
        .await
        .map_err(|e| super::task_error(&ctx, e))?;
    if args.json {
        ctx.out()
            .line(serde_json::to_string(&rows).expect("rows serialize"));
    } else {
        ctx.out()
            .write_bytes(text::webhooks(&rows, chrono::Utc::now()).as_bytes());
    }
    Ok(())
}
