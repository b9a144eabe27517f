//! `manage deliveries`: recent delivery attempts from the per-webhook logs, newest first.

use crate::{
    tasks::{deliveries, text, when},
    CommandError, CommandResult, Context,
};

/// Options of `manage deliveries`.
#[derive(clap::Args, Debug)]
pub struct DeliveriesArgs {
    /// Only this webhook [default: every configured webhook].
    #[arg(long, value_name = "NAME")]
    pub webhook: Option<String>,
    /// Only 2XX answers (ok) or only the others (failed).
    #[arg(long, value_parser = ["ok", "failed"])]
    pub status: Option<String>,
    /// Only since an age (30m, 2h, 7d) or a time (2026-11-29T10:00:00Z).
    #[arg(long, value_name = "DURATION|TIME")]
    pub since: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print a JSON array of deliveries.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "deliveries", group: "webhooks", about: "List recent delivery attempts, newest first",
    args: DeliveriesArgs, run: show,
}

async fn show(ctx: Context, args: DeliveriesArgs) -> CommandResult {
    let usage = |message: String| CommandError::new(message).with_code(2);
    let configured = ctx.settings().webhooks.iter().map(|w| w.name.clone());
    let webhooks: Vec<String> = match &args.webhook {
        Some(name) if !ctx.settings().webhooks.iter().any(|w| &w.name == name) => {
            return Err(usage(format!("no [[webhooks]] entry is named {name:?}")))
        }
        Some(name) => vec![name.clone()],
        None => configured.collect(),
    };
    let since = args
        .since
        .as_deref()
        .map(|text| {
            when::parse(text, chrono::Utc::now()).map_err(|e| usage(format!("--since: {e}")))
        })
        .transpose()?;
    let filter = deliveries::Filter {
        webhooks,
        ok: args.status.as_deref().map(|s| s == "ok"),
        since,
        limit: args.limit,
    };
    let mut conn = ctx.redis().await?;
    let found = deliveries::list(&mut conn, &filter)
        .await
        .map_err(|e| super::task_error(&ctx, e))?;
    if args.json {
        ctx.out()
            .line(serde_json::to_string(&found).expect("deliveries serialize"));
    } else if found.is_empty() {
        ctx.out().line("No deliveries.");
    } else {
        ctx.out().write_bytes(text::deliveries(&found).as_bytes());
    }
    Ok(())
}
