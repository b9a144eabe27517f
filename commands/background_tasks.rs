//! `manage background_tasks`: serves the queues, jobs and workers as a web page (NetBox's
//! System > Background Tasks), with requeue, delete, stop and enqueue-again, behind a token.

use std::net::SocketAddr;

use crate::{
    signals::StopSignals,
    tasks::web::{self, auth::random_hex, AppState},
    CommandError, CommandResult, Context,
};

/// Options of `manage background_tasks`.
#[derive(clap::Args, Debug)]
pub struct BackgroundTasksArgs {
    /// Address and port to listen on, e.g. 0.0.0.0:8000 for every interface
    /// [default: [ui] bind, 127.0.0.1:8000].
    #[arg(long, value_name = "ADDR:PORT")]
    pub bind: Option<String>,
}

crate::command! {
    name: "background_tasks", group: "rq", about: "Serve the background tasks web page (queues, jobs, workers, retries)",
    args: BackgroundTasksArgs, run: background_tasks,
}

async fn background_tasks(ctx: Context, args: BackgroundTasksArgs) -> CommandResult {
    let bind = args.bind.as_deref().unwrap_or(&ctx.settings().ui.bind);
    let address: SocketAddr = bind.parse().map_err(|_| {
        CommandError::new(format!(
            "--bind: expected an address and port such as 127.0.0.1:8000, found {bind:?}"
        ))
        .with_code(2)
    })?;
    let mut signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot install signal handlers: {e}")))?;
    let redis = ctx.redis().await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| CommandError::new(format!("cannot listen on {address}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CommandError::new(format!("cannot listen on {address}: {e}")))?;
    let token = match ctx.settings().ui.token.as_str() {
        "" => random_hex(),
        configured => configured.to_string(),
    };
    if !local.ip().is_loopback() {
        tracing::warn!(
            "listening on {local}: anyone who can reach this address and has the token can change jobs"
        );
    }
    let state = AppState::new(
        redis,
        ctx.settings_arc(),
        token.clone(),
        format!("manage_session_{}", local.port()),
    );
    ctx.out()
        .line(format!("Background tasks: http://{local}/?token={token}"));
    ctx.out().line("Stop with CONTROL-C.");
    crate::notify::ready(&format!("serving http://{local}/"));
    web::serve(listener, web::router(state), ctx.settings(), async move {
        signals.recv().await;
    })
    .await
    .map_err(|e| CommandError::new(format!("the web server stopped: {e}")))
}
