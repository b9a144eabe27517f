//! The worker's main loop: fetch batches while there is room, run each job in its own task,
//! hand outcomes to the writer, and stop warm or cold on request.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{
    complete::{self, Ended},
    control::{self, Command},
    execute::{self, Interrupt, Outcome},
    fetch::{self, Fetched},
    registration::{self, Identity, Previous},
    upkeep, HEARTBEAT_GRACE_SECS,
};
use crate::{
    context::Context,
    error::CommandError,
    rq::{
        functions::{self, JobEnv},
        timestamp,
    },
    signals::StopSignals,
};

/// How the worker runs; each field has a `manage rqworker` flag.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Queues in priority order.
    pub queues: Vec<String>,
    /// The worker name; a uuid4 hex when `None`.
    pub name: Option<String>,
    /// Exit once the queues are empty and nothing is in flight.
    pub burst: bool,
    /// Jobs in flight at once.
    pub concurrency: usize,
    /// Exit after this many jobs.
    pub max_jobs: Option<u64>,
    /// Exit after this long without a job.
    pub max_idle_time: Option<Duration>,
    /// Also move due scheduled jobs (retries with intervals) onto their queues.
    pub with_scheduler: bool,
    /// Seconds the worker's registration lives without a heartbeat.
    pub worker_ttl: u64,
    /// Seconds between heartbeats of running jobs (RQ's job monitoring interval).
    pub job_monitoring_interval: u64,
    /// Longest wait between looks at empty queues.
    pub max_poll_interval: Duration,
}

/// What a worker did before it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// The worker's name.
    pub name: String,
    /// Jobs that finished.
    pub finished: u64,
    /// Jobs that failed, were stopped, or were retried.
    pub failed: u64,
}

/// Jobs running now: id → (queue, started-registry member, interrupt).
type InFlight = Arc<Mutex<HashMap<String, (String, String, Option<oneshot::Sender<Interrupt>>)>>>;

/// Runs a worker until burst completion, `--max-jobs`, `--max-idle-time`, a shutdown command or
/// a signal. The first SIGINT/SIGTERM stops taking jobs and lets running ones finish; a second
/// puts running jobs back on their queues and exits at once.
pub async fn run(ctx: &Context, options: WorkerOptions) -> Result<WorkerReport, CommandError> {
    let mut signals = StopSignals::install()
        .map_err(|e| CommandError::new(format!("cannot install signal handlers: {e}")))?;
    let mut conn = ctx.redis().await?;
    let me = Identity {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        queues: options.queues.clone(),
        hostname: hostname(),
        pid: std::process::id(),
    };
    let worker_key = me.key();
    let registration_ttl = options.worker_ttl + 60;
    let heartbeat_ttl = options.job_monitoring_interval + HEARTBEAT_GRACE_SECS;

    let previous = registration::previous(&mut conn, &me)
        .await
        .map_err(|e| ctx.unreachable(e))?;
    if let Previous::Alive { hostname, pid } = &previous {
        return Err(CommandError::new(format!("a worker named {:?} is already running (pid {pid} on {hostname}); choose another --name", me.name)));
    }
    registration::register(&mut conn, &me, registration_ttl)
        .await
        .map_err(|e| ctx.unreachable(e))?;
    tracing::info!(
        "Worker {} started with PID {}, serving queues {} with {} jobs in flight at most",
        me.name,
        me.pid,
        me.queues.join(", "),
        options.concurrency
    );
    maintain(
        &mut conn,
        &me,
        (previous == Previous::Crashed).then_some(me.name.as_str()),
    )
    .await;
    let _ = registration::set_state(&mut conn, &me, "idle").await;

    let env = Arc::new(job_env(ctx)?);
    let in_flight: InFlight = Arc::default();
    let (ended_tx, ended_rx) = mpsc::unbounded_channel::<Ended>();
    let unwritten = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = tokio::spawn(complete::writer(
        conn.clone(),
        worker_key.clone(),
        me.name.clone(),
        ended_rx,
        unwritten.clone(),
        {
            let in_flight = in_flight.clone();
            move || in_flight.lock().expect("in-flight lock").len()
        },
    ));
    let (command_tx, mut commands) = mpsc::unbounded_channel();
    let listener = tokio::spawn(control::listen(
        {
            let ctx = ctx.clone();
            move || {
                let ctx = ctx.clone();
                Box::pin(async move {
                    ctx.redis_client()
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message()))
                })
            }
        },
        me.name.clone(),
        command_tx,
    ));
    let upkeep = tokio::spawn(upkeep_loop(
        conn.clone(),
        me.clone(),
        options.clone(),
        in_flight.clone(),
        registration_ttl,
        heartbeat_ttl,
    ));

    let slots = Arc::new(Semaphore::new(options.concurrency));
    let finished = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut taken_total: u64 = 0;
    let mut last_job = Instant::now();
    let mut poll = Duration::from_millis(1);
    let mut outage_logged = false;
    let mut suspended_logged = false;
    let mut cold = false;
    let mut backlog = false;

    'main: loop {
        if options.max_jobs.is_some_and(|max| taken_total >= max) {
            break;
        }
        // Wait for room, but take jobs in batches: at least a quarter of the slots when busy.
        // Right after a full batch (a backlog), the slots still free are filled once at once,
        // so a worker with a backlog holds `concurrency` jobs, not up to a quarter less.
        let filling = std::mem::take(&mut backlog) && slots.available_permits() > 0;
        let want_at_least = if filling || in_flight.lock().expect("in-flight lock").is_empty() {
            1
        } else {
            (options.concurrency / 4).max(1)
        };
        let room = tokio::select! {
            permit = slots.clone().acquire_many_owned(want_at_least as u32) => permit.expect("semaphore open"),
            stop = signals.recv() => { tracing::info!("Warm shut down requested ({stop:?})"); break 'main; }
            Some(command) = commands.recv() => { if handle_command(command, &in_flight) { break 'main; } continue; }
        };
        let mut room = room;
        let extra = slots.available_permits();
        if extra > 0 {
            if let Ok(more) = slots.clone().try_acquire_many_owned(extra as u32) {
                room.merge(more);
            }
        }
        let mut count = room.num_permits().min(256);
        if let Some(max) = options.max_jobs {
            count = count.min((max - taken_total) as usize);
        }
        let fetched = fetch::take(
            &mut conn,
            &worker_key,
            &me.name,
            &me.queues,
            count,
            heartbeat_ttl,
        )
        .await;
        let jobs = match fetched {
            Ok(Fetched::Jobs(jobs)) => jobs,
            paused => {
                // Redis is unreachable or the worker is suspended: say so once, then wait a
                // second (or stop) and try again.
                drop(room);
                match paused {
                    Err(error) if !outage_logged => {
                        tracing::error!(
                            "Redis unavailable at {}: {error}; retrying",
                            ctx.redis_display()
                        );
                        outage_logged = true;
                    }
                    Ok(Fetched::Suspended) if options.burst => {
                        tracing::info!("Suspended in burst mode, exiting");
                        break;
                    }
                    Ok(Fetched::Suspended) if !suspended_logged => {
                        tracing::info!("Worker suspended (rq:suspended is set); waiting");
                        let _ = registration::set_state(&mut conn, &me, "suspended").await;
                        suspended_logged = true;
                    }
                    _ => {}
                }
                if wait_or_stop(
                    Duration::from_secs(1),
                    &mut signals,
                    &mut commands,
                    &in_flight,
                )
                .await
                {
                    break;
                }
                continue;
            }
        };
        if outage_logged {
            tracing::info!("Redis is back at {}", ctx.redis_display());
            outage_logged = false;
        }
        if suspended_logged {
            tracing::info!("Worker resumed");
            let _ = registration::set_state(&mut conn, &me, "idle").await;
            suspended_logged = false;
        }
        if jobs.is_empty() {
            drop(room);
            let idle = in_flight.lock().expect("in-flight lock").is_empty();
            if options.burst && idle {
                // Outcomes not yet written may put jobs back (a retry without interval).
                if unwritten.load(Ordering::Acquire) == 0
                    && queues_empty(&mut conn, &me.queues).await
                {
                    break;
                }
                if wait_or_stop(
                    Duration::from_millis(5),
                    &mut signals,
                    &mut commands,
                    &in_flight,
                )
                .await
                {
                    break;
                }
                continue;
            }
            if idle
                && options
                    .max_idle_time
                    .is_some_and(|max| last_job.elapsed() >= max)
            {
                tracing::info!(
                    "Idle for {:?}, exiting",
                    options.max_idle_time.unwrap_or_default()
                );
                break;
            }
            if wait_or_stop(poll, &mut signals, &mut commands, &in_flight).await {
                break;
            }
            poll = (poll * 2).min(options.max_poll_interval);
            continue;
        }
        poll = Duration::from_millis(1);
        last_job = Instant::now();
        backlog = !filling && jobs.len() == count;
        taken_total += jobs.len() as u64;
        let unused = room.num_permits() - jobs.len();
        if unused > 0 {
            drop(room.split(unused));
        }
        for taken in jobs {
            let permit = room.split(1).expect("one permit per job");
            let (interrupt_tx, interrupt_rx) = oneshot::channel();
            in_flight.lock().expect("in-flight lock").insert(
                taken.job.id.clone(),
                (
                    taken.queue.clone(),
                    format!("{}:{}", taken.job.id, taken.execution),
                    Some(interrupt_tx),
                ),
            );
            let (env, in_flight, ended_tx, finished, failed, unwritten) = (
                env.clone(),
                in_flight.clone(),
                ended_tx.clone(),
                finished.clone(),
                failed.clone(),
                unwritten.clone(),
            );
            tokio::spawn(async move {
                let started = chrono::Utc::now();
                let outcome = execute::run(&taken, env, interrupt_rx).await;
                let ended = chrono::Utc::now();
                log_outcome(&taken, &outcome, ended - started);
                match outcome {
                    Outcome::Finished(_) => finished.fetch_add(1, Ordering::Relaxed),
                    Outcome::Requeue => 0,
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                let record = Ended {
                    id: taken.job.id.clone(),
                    queue: taken.queue.clone(),
                    execution: taken.execution.clone(),
                    outcome,
                    result_ttl: taken.job.int("result_ttl").ok().flatten(),
                    failure_ttl: taken.job.int("failure_ttl").ok().flatten(),
                    started: timestamp::epoch_f64(started),
                    ended: timestamp::epoch_f64(ended),
                };
                unwritten.fetch_add(1, Ordering::AcqRel);
                in_flight
                    .lock()
                    .expect("in-flight lock")
                    .remove(&taken.job.id);
                let _ = ended_tx.send(record);
                drop(permit);
            });
        }
    }

    // Warm: let running jobs finish (a second signal turns it cold).
    let running = in_flight.lock().expect("in-flight lock").len();
    if running > 0 {
        tracing::info!(
            "Waiting for {running} running job(s) to finish; send the signal again to stop now"
        );
    }
    let all = options.concurrency as u32;
    tokio::select! {
        _ = slots.acquire_many(all) => {}
        _ = signals.recv() => {
            cold = true;
            tracing::warn!("Cold shut down: putting {} running job(s) back on their queues", in_flight.lock().expect("in-flight lock").len());
            for (_, (_, _, interrupt)) in in_flight.lock().expect("in-flight lock").iter_mut() {
                if let Some(tx) = interrupt.take() {
                    let _ = tx.send(Interrupt::Requeue);
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), slots.acquire_many(all)).await;
        }
    }
    drop(ended_tx);
    let flush = tokio::time::timeout(
        if cold {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(3600)
        },
        writer,
    )
    .await;
    if flush.is_err() {
        tracing::error!("Could not record every outcome before exiting; unrecorded jobs stay in the started registry and are recovered as abandoned");
    }
    listener.abort();
    upkeep.abort();
    if let Err(error) = registration::deregister(&mut conn, &me).await {
        tracing::warn!("could not deregister worker {}: {error}", me.name);
    }
    let report = WorkerReport {
        name: me.name.clone(),
        finished: finished.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    };
    tracing::info!(
        "Worker {} stopped: {} finished, {} failed",
        report.name,
        report.finished,
        report.failed
    );
    Ok(report)
}

/// Acts on a pub/sub command; true means "shut down".
fn handle_command(command: Command, in_flight: &InFlight) -> bool {
    let mut running = in_flight.lock().expect("in-flight lock");
    match command {
        Command::Shutdown => {
            tracing::info!("Warm shut down requested (shutdown command)");
            true
        }
        Command::StopJob(id) => {
            match running
                .get_mut(&id)
                .and_then(|(_, _, interrupt)| interrupt.take())
            {
                Some(tx) => {
                    let _ = tx.send(Interrupt::Stop);
                }
                None => tracing::info!("stop-job {id}: not running here"),
            }
            false
        }
        Command::KillHorse => {
            for (_, (_, _, interrupt)) in running.iter_mut() {
                if let Some(tx) = interrupt.take() {
                    let _ = tx.send(Interrupt::Stop);
                }
            }
            false
        }
    }
}

/// Sleeps, unless a signal or a shutdown command comes first (then returns true).
async fn wait_or_stop(
    delay: Duration,
    signals: &mut StopSignals,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    in_flight: &InFlight,
) -> bool {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return false,
            stop = signals.recv() => { tracing::info!("Warm shut down requested ({stop:?})"); return true; }
            Some(command) = commands.recv() => if handle_command(command, in_flight) { return true; },
        }
    }
}

async fn queues_empty(conn: &mut crate::redis_conn::RedisConn, queues: &[String]) -> bool {
    let mut pipe = redis::pipe();
    for queue in queues {
        pipe.llen(crate::rq::keys::queue(queue));
    }
    pipe.query_async::<Vec<u64>>(conn)
        .await
        .map(|lengths| lengths.iter().all(|l| *l == 0))
        .unwrap_or(false)
}

/// Heartbeats every few seconds, maintenance every minute, the scheduler every second.
async fn upkeep_loop(
    mut conn: crate::redis_conn::RedisConn,
    me: Identity,
    options: WorkerOptions,
    in_flight: InFlight,
    registration_ttl: u64,
    heartbeat_ttl: u64,
) {
    let heartbeat_every = Duration::from_secs(options.job_monitoring_interval.clamp(1, 10));
    let mut last_heartbeat = Instant::now();
    let mut last_maintenance = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if last_heartbeat.elapsed() >= heartbeat_every {
            last_heartbeat = Instant::now();
            let running: Vec<(String, String)> = in_flight
                .lock()
                .expect("in-flight lock")
                .values()
                .map(|(q, member, _)| (q.clone(), member.clone()))
                .collect();
            match upkeep::heartbeat(
                &mut conn,
                &me.key(),
                registration_ttl,
                heartbeat_ttl,
                &running,
            )
            .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("Worker {} not found in registry; re-registering.", me.name);
                    let _ = registration::register(&mut conn, &me, registration_ttl).await;
                }
                Err(error) => tracing::warn!("heartbeat failed: {error}"),
            }
        }
        if last_maintenance.elapsed() >= Duration::from_secs(upkeep::MAINTENANCE_INTERVAL_SECS) {
            last_maintenance = Instant::now();
            maintain(&mut conn, &me, None).await;
        }
        if options.with_scheduler {
            for queue in &me.queues {
                if let Err(error) = upkeep::schedule(&mut conn, queue, &me.name, 60).await {
                    tracing::debug!("scheduler pass on {queue} failed: {error}");
                }
            }
        }
    }
}

/// One maintenance pass over the worker's queues; `reclaim` takes back a crashed run's jobs.
async fn maintain(conn: &mut crate::redis_conn::RedisConn, me: &Identity, reclaim: Option<&str>) {
    for queue in &me.queues {
        match upkeep::clean(conn, queue, &me.name, reclaim).await {
            Ok(cleaned) if cleaned.requeued + cleaned.failed > 0 => tracing::warn!(
                "{queue}: {} abandoned job(s) put back on the queue, {} failed as abandoned too often{}",
                cleaned.requeued,
                cleaned.failed,
                if reclaim.is_some() { " (left by a crashed worker with this name)" } else { "" }
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!("maintenance of {queue} failed: {error}"),
        }
    }
}

/// The shared resources every job gets, with per-function state built once.
fn job_env(ctx: &Context) -> Result<JobEnv, CommandError> {
    let mut state = HashMap::new();
    for function in inventory::iter::<functions::JobFunction> {
        if let Some(prepare) = function.prepare {
            let value = prepare(ctx.settings())
                .map_err(|e| CommandError::new(format!("cannot prepare {}: {e}", function.name)))?;
            state.insert(function.name, value);
        }
    }
    Ok(JobEnv {
        settings: ctx.settings_arc(),
        http: ctx.http()?,
        state,
    })
}

fn log_outcome(taken: &fetch::Taken, outcome: &Outcome, took: chrono::TimeDelta) {
    let level_needed = if matches!(outcome, Outcome::Failed(_) | Outcome::Retry { .. }) {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    if level_needed > tracing::level_filters::LevelFilter::current() {
        return;
    }
    let func = taken
        .job
        .call()
        .map(|c| c.func_name)
        .unwrap_or_else(|_| "<undecodable>".into());
    let ms = took.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    match outcome {
        Outcome::Failed(reason) => tracing::warn!(
            "{}: {} {func} failed in {ms:.1} ms: {reason}",
            taken.queue,
            taken.job.id
        ),
        Outcome::Retry {
            reason,
            interval,
            retries_left,
            ..
        } => {
            tracing::warn!("{}: {} {func} failed in {ms:.1} ms, retry in {interval} s ({retries_left} left): {reason}", taken.queue, taken.job.id)
        }
        other => tracing::info!(
            "{}: {} {func} {} in {ms:.1} ms",
            taken.queue,
            taken.job.id,
            other.label()
        ),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
