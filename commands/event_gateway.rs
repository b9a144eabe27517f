//! `manage event_gateway`: takes events over HTTP (`POST /events`, and NetBox's own webhooks on
//! `POST /netbox`) and enqueues their webhooks; `GET /live` and `/ready` for probes.

use crate::{
    config::listen_address, gateway, signals::StopSignals, CommandError, CommandResult, Context,
};

/// Options of `manage event_gateway`.
#[derive(clap::Args, Debug)]
pub struct EventGatewayArgs {
    /// Where to listen (PORT or ADDR:PORT; a bare port is 127.0.0.1) [default: [gateway] bind,
    /// 127.0.0.1:8001].
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
}

crate::command! {
    name: "event_gateway", group: "webhooks", about: "Take events over HTTP (and NetBox's webhooks) and enqueue their webhooks",
    args: EventGatewayArgs, run: event_gateway,
}

async fn event_gateway(ctx: Context, args: EventGatewayArgs) -> CommandResult {
    let settings = ctx.settings();
    let bind = args.bind.as_deref().unwrap_or(&settings.gateway.bind);
    let address =
        listen_address(bind).map_err(|e| CommandError::new(format!("--bind: {e}")).with_code(2))?;
    if settings.gateway.token.is_empty() && settings.gateway.netbox_secret.is_empty() {
        return Err(CommandError::new(
            "set [gateway] token (for POST /events) or [gateway] netbox_secret (for POST /netbox): without either the gateway takes nothing",
        ));
    }
    let mut signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot install signal handlers: {e}")))?;
    let conn = ctx.redis().await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| CommandError::new(format!("cannot listen on {address}: {e}")))?;
    let local = listener.local_addr().unwrap_or(address);
    if !local.ip().is_loopback() {
        tracing::warn!(
            "listening on {local}: anyone who can reach it and has the token can enqueue events"
        );
    }
    let app = gateway::router(gateway::Gateway::new(conn, settings), ctx.settings_arc());
    ctx.out()
        .line(format!("Event gateway: http://{local}/events"));
    ctx.out()
        .line(format!("Routes: {}", gateway::routes(settings)));
    crate::notify::ready(&format!("taking events on http://{local}/events"));
    crate::serve::serve(listener, app, settings.gateway.limits(), async move {
        signals.recv().await;
    })
    .await
    .map_err(|e| CommandError::new(format!("the gateway stopped: {e}")))
}
