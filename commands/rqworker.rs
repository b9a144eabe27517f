//! `manage rqworker [QUEUE...]`: runs jobs from RQ queues, many at once, until stopped.

use std::time::Duration;

use crate::{
    config::listen_address,
    pipeline,
    rq::{keys, worker},
    signals::StopSignals,
    tasks::web::probes::{self, Probes},
    CommandError, CommandResult, Context,
};

/// Options of `manage rqworker`.
#[derive(clap::Args, Debug)]
pub struct RqWorkerArgs {
    /// Queues to serve, highest priority first [default: [worker] queues, i.e. high default low].
    pub queues: Vec<String>,
    /// Exit once the queues are empty.
    #[arg(long)]
    pub burst: bool,
    /// Worker name; reusing a crashed worker's name reclaims its jobs at once [default: random].
    #[arg(long)]
    pub name: Option<String>,
    /// Jobs in flight at once in this process [default: [worker] concurrency, 64].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: Option<u32>,
    /// Exit after this many jobs.
    #[arg(long)]
    pub max_jobs: Option<u64>,
    /// Exit after this many seconds without a job.
    #[arg(long, value_name = "SECONDS")]
    pub max_idle_time: Option<u64>,
    /// Also move due scheduled jobs (retries with an interval) back onto their queues.
    #[arg(long)]
    pub with_scheduler: bool,
    /// Seconds the worker's registration lives without a heartbeat [default: [worker] worker_ttl, 420].
    #[arg(long, value_name = "SECONDS")]
    pub worker_ttl: Option<u64>,
    /// Seconds between heartbeats of running jobs.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub job_monitoring_interval: u64,
    /// Serve /metrics, /live and /ready here (PORT or ADDR:PORT; a bare port is 127.0.0.1)
    /// [default: [worker] metrics_bind; empty: not served].
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_bind: Option<String>,
    /// Run jobs this worker cannot run (pickled, unknown functions) and so fail them, as RQ
    /// does, instead of leaving them and their queue to the workers whose they are
    /// [default: [worker] take_foreign_jobs, false].
    #[arg(long)]
    pub take_foreign_jobs: bool,
    /// Write the process id to this file while running.
    #[arg(long, value_name = "FILE")]
    pub pid: Option<std::path::PathBuf>,
}

crate::command! {
    name: "rqworker", group: "rq", about: "Run jobs from RQ queues (webhook deliveries among them)",
    args: RqWorkerArgs, run: rqworker,
}

async fn rqworker(ctx: Context, args: RqWorkerArgs) -> CommandResult {
    let queues = if args.queues.is_empty() {
        tracing::info!("No queues have been specified. This process will service the following queues by default: {}", ctx.settings().worker.queues.join(", "));
        ctx.settings().worker.queues.clone()
    } else {
        args.queues.clone()
    };
    if let Some(bad) = queues.iter().find(|q| !keys::valid_queue_name(q)) {
        return Err(CommandError::new(format!(
            "invalid queue name {bad:?}: use letters, digits, '-', '_' and '.'"
        ))
        .with_code(2));
    }
    if let Some(name) = args.name.as_deref().filter(|n| !keys::valid_job_id(n)) {
        return Err(CommandError::new(format!(
            "invalid worker name {name:?}: use letters, digits, '-' and '_'"
        ))
        .with_code(2));
    }
    if let Some(path) = &args.pid {
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(|e| {
            CommandError::new(format!("cannot write pid file {}: {e}", path.display()))
        })?;
    }
    let options = worker::WorkerOptions {
        queues,
        name: args.name,
        burst: args.burst,
        concurrency: args
            .concurrency
            .map(|c| c as usize)
            .unwrap_or(ctx.settings().worker.concurrency),
        max_jobs: args.max_jobs,
        max_idle_time: args.max_idle_time.map(Duration::from_secs),
        with_scheduler: args.with_scheduler,
        worker_ttl: args.worker_ttl.unwrap_or(ctx.settings().worker.worker_ttl),
        job_monitoring_interval: args.job_monitoring_interval,
        max_poll_interval: Duration::from_millis(50),
        take_foreign_jobs: args.take_foreign_jobs || ctx.settings().worker.take_foreign_jobs,
    };
    let bind = args
        .metrics_bind
        .clone()
        .unwrap_or_else(|| ctx.settings().worker.metrics_bind.clone());
    let probes = if bind.trim().is_empty() {
        None
    } else {
        let addr = listen_address(&bind)
            .map_err(|e| CommandError::new(format!("--metrics-bind: {e}")).with_code(2))?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CommandError::new(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr().unwrap_or(addr);
        tracing::info!("Serving /metrics, /live and /ready on http://{bound}");
        Some(listener)
    };
    let outcome = run(&ctx, options, probes).await;
    if let Some(path) = &args.pid {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

/// The bounds of the worker's own listener: scrapers and probes, a few at a time.
const PROBE_LIMITS: crate::serve::Limits = crate::serve::Limits {
    header_timeout: std::time::Duration::from_secs(10),
    max_connections: 256,
    setting: "the worker's probe listener",
};

/// Builds the worker's job functions (webhook delivery among them), registers it, runs it,
/// serving its probes on `probes` while it runs.
async fn run(
    ctx: &Context,
    options: worker::WorkerOptions,
    probes: Option<tokio::net::TcpListener>,
) -> CommandResult {
    let signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot install signal handlers: {e}")))?;
    let settings = ctx.settings();
    let conn = ctx.redis().await?;
    let delivering = pipeline::Delivering::start(
        &settings.webhooks,
        &settings.http,
        &settings.history,
        conn.clone(),
    )
    .map_err(|e| {
        CommandError::new(format!(
            "cannot prepare {}: {e}",
            crate::webhooks::SEND_WEBHOOK
        ))
    })?;
    let functions = delivering.functions();
    let options = leave_foreign_queues(conn.clone(), options, &functions).await?;
    let worker = worker::Worker::start(conn.clone(), options, functions)
        .await
        .map_err(CommandError::new)?
        .burst_waits_for(delivering.pending());
    let keep_up = tokio::spawn(delivering.keep_up(worker.name().to_string()));
    let server = probes.map(|listener| {
        let state = Probes::new(conn, ctx.settings_arc(), Some(worker.health()));
        tokio::spawn(crate::serve::serve(
            listener,
            probes::router(state, true),
            PROBE_LIMITS,
            std::future::pending(),
        ))
    });
    crate::notify::ready(&format!("worker {} is taking jobs", worker.name()));
    worker.run(signals).await;
    keep_up.abort();
    if let Some(server) = server {
        server.abort();
    }
    delivering.finish().await;
    Ok(())
}

/// Says which queues other RQ software shares (their jobs we cannot run, their Python workers)
/// and, unless told to take foreign jobs, leaves out those holding such jobs: pointed at
/// NetBox's own Redis, the worker must not fail NetBox's jobs.
async fn leave_foreign_queues(
    mut conn: crate::redis_conn::RedisConn,
    mut options: worker::WorkerOptions,
    functions: &crate::rq::functions::Functions,
) -> Result<worker::WorkerOptions, CommandError> {
    let known = functions.names();
    let found = match crate::tasks::foreign::survey(&mut conn, &options.queues, &known).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("cannot look at the queues before starting: {e}");
            return Ok(options);
        }
    };
    for foreign in &found {
        let leave = foreign.leave_to_others() && !options.take_foreign_jobs;
        tracing::warn!(
            "{}{}",
            foreign.describe(),
            if leave {
                ": not serving it (--take-foreign-jobs to run and fail such jobs)"
            } else {
                ""
            }
        );
        if leave {
            options.queues.retain(|q| *q != foreign.queue);
        }
    }
    if options.queues.is_empty() {
        return Err(CommandError::new(
            "every queue holds jobs this worker cannot run, so it serves none: give manage queues or a Redis database of its own, or run with --take-foreign-jobs",
        ));
    }
    Ok(options)
}
