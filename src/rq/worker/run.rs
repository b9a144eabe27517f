//! [`Worker`]: registers in Redis, fills its slots with batches of jobs, runs each job in its
//! own task, hands outcomes to the writer, and stops warm or cold on request.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::{
    complete::{self, Ended},
    control::{self, Command},
    execute::{self, Interrupt, Outcome},
    fetch::{self, Fetched, Taken},
    in_flight::InFlight,
    registration::{self, Identity, Previous, WorkerState},
    upkeep::{self, Upkeep},
    HEARTBEAT_GRACE_SECS,
};
use crate::{
    redis_conn::RedisConn,
    rq::{functions::Functions, keys, timestamp},
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
    /// Run (and so fail) jobs this worker cannot run, as RQ does, instead of leaving them and
    /// their queue to the workers whose they are.
    pub take_foreign_jobs: bool,
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

/// Why a worker could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Redis could not be reached (or refused a command) while registering.
    #[error("cannot reach Redis at {at}: {error}")]
    Redis {
        /// The address, password hidden.
        at: String,
        /// What Redis said.
        error: redis::RedisError,
    },
    /// Another live worker has this name.
    #[error("a worker named {name:?} is already running (pid {pid} on {hostname}); choose another --name")]
    NameTaken {
        /// The name asked for.
        name: String,
        /// The other worker's process id.
        pid: String,
        /// The other worker's host.
        hostname: String,
    },
}

/// What a liveness or readiness probe needs to know about a worker.
#[derive(Debug, Default)]
pub struct Health {
    running: std::sync::atomic::AtomicBool,
    /// The loop's last fetch could not reach Redis: it is waiting, not running jobs.
    waiting_for_redis: std::sync::atomic::AtomicBool,
    /// Unix seconds of the last heartbeat Redis took.
    last_heartbeat: std::sync::atomic::AtomicI64,
    /// Seconds after which a heartbeat is stale.
    stale_after: u64,
}

impl Health {
    /// Whether the worker's loop runs (it has started and not begun to shut down).
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Whether the loop is stalled because its last fetch could not reach Redis.
    pub fn waiting_for_redis(&self) -> bool {
        self.waiting_for_redis.load(Ordering::Acquire)
    }

    /// Seconds since the last heartbeat Redis took, when it is stale.
    pub fn stale_heartbeat(&self) -> Option<i64> {
        let age = chrono::Utc::now().timestamp() - self.last_heartbeat.load(Ordering::Acquire);
        (age > self.stale_after as i64).then_some(age)
    }

    /// Records a heartbeat Redis took now.
    pub fn beat(&self) {
        self.last_heartbeat
            .store(chrono::Utc::now().timestamp(), Ordering::Release);
    }
}

/// Counts shared by the job tasks, the writer and the loop.
#[derive(Default)]
struct Counts {
    finished: AtomicU64,
    failed: AtomicU64,
    /// Outcomes sent to the writer and not yet written.
    unwritten: AtomicUsize,
}

/// Says whether jobs this worker would run wait outside its queues (set aside by a job
/// function until a limit allows them), so that a burst worker does not exit before them.
pub type Pending = Arc<dyn Fn(RedisConn) -> BoxFuture<'static, bool> + Send + Sync>;

/// A registered worker, ready to run jobs with its [`Functions`].
pub struct Worker {
    pending: Option<Pending>,
    health: Arc<Health>,
    conn: RedisConn,
    me: Identity,
    options: WorkerOptions,
    functions: Arc<Functions>,
    in_flight: Arc<InFlight>,
    slots: Arc<Semaphore>,
    counts: Arc<Counts>,
    registration_ttl: u64,
    heartbeat_ttl: u64,
    /// Queues left to other workers: they held a job this worker cannot run.
    left: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Worker {
    /// Registers the worker (refusing a name a live worker has) and takes back the jobs a
    /// crashed run under the same name left, so they need not wait for their heartbeat to
    /// expire.
    pub async fn start(
        mut conn: RedisConn,
        options: WorkerOptions,
        functions: Functions,
    ) -> Result<Self, WorkerError> {
        let at = conn.display().to_string();
        let unreachable = |error| WorkerError::Redis {
            at: at.clone(),
            error,
        };
        let me = Identity {
            name: options
                .name
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            queues: options.queues.clone(),
            hostname: hostname(),
            pid: std::process::id(),
        };
        let registration_ttl = options.worker_ttl + 60;
        let previous = registration::previous(&mut conn, &me)
            .await
            .map_err(unreachable)?;
        if let Previous::Alive { hostname, pid } = previous.clone() {
            return Err(WorkerError::NameTaken {
                name: me.name,
                pid,
                hostname,
            });
        }
        registration::register(&mut conn, &me, registration_ttl)
            .await
            .map_err(unreachable)?;
        tracing::info!(
            "Worker {} started with PID {}, serving queues {} with {} jobs in flight at most",
            me.name,
            me.pid,
            me.queues.join(", "),
            options.concurrency
        );
        let reclaim = (previous == Previous::Crashed).then_some(me.name.as_str());
        upkeep::maintain(&mut conn, &me, reclaim).await;
        if let Err(error) = registration::set_state(&mut conn, &me, WorkerState::Idle).await {
            tracing::warn!("cannot set the worker's state: {error}");
        }
        let health = Arc::new(Health {
            stale_after: 3 * options.job_monitoring_interval.clamp(1, 10) + 5,
            ..Health::default()
        });
        health.beat();
        Ok(Self {
            pending: None,
            health,
            heartbeat_ttl: options.job_monitoring_interval + HEARTBEAT_GRACE_SECS,
            slots: Arc::new(Semaphore::new(options.concurrency)),
            conn,
            me,
            options,
            functions: Arc::new(functions),
            in_flight: Arc::default(),
            counts: Arc::default(),
            registration_ttl,
            left: Arc::default(),
        })
    }

    /// In burst mode, also waits while `pending` says jobs wait outside the queues.
    pub fn burst_waits_for(mut self, pending: Pending) -> Self {
        self.pending = Some(pending);
        self
    }

    /// What probes read: whether the loop runs, and how fresh the heartbeat is.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// The worker's name (`--name`, or the uuid4 hex it was given).
    pub fn name(&self) -> &str {
        &self.me.name
    }

    /// Runs jobs until burst completion, `--max-jobs`, `--max-idle-time`, a shutdown command
    /// or a signal. The first SIGINT/SIGTERM stops taking jobs and lets running ones finish;
    /// a second puts running jobs back on their queues and exits at once.
    pub async fn run(mut self, signals: StopSignals) -> WorkerReport {
        let (ended_tx, ended_rx) = mpsc::unbounded_channel::<Ended>();
        let in_flight = self.in_flight.clone();
        let counts = self.counts.clone();
        let writer = tokio::spawn(complete::writer(
            self.conn.clone(),
            self.me.key(),
            self.me.name.clone(),
            ended_rx,
            move |written| {
                counts.unwritten.fetch_sub(written, Ordering::AcqRel);
            },
            move || in_flight.len(),
        ));
        let (command_tx, commands) = mpsc::unbounded_channel();
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(control::listen(
            self.conn.clone(),
            self.me.name.clone(),
            command_tx,
            subscribed_tx,
        ));
        // Commands (stop-job, shutdown) must find a listener once a job shows `started`; a
        // Redis slow to subscribe delays the start by at most this.
        let _ = tokio::time::timeout(Duration::from_secs(5), subscribed).await;
        let upkeep = tokio::spawn(self.upkeep().run());
        let mut controls = Controls {
            signals,
            commands,
            in_flight: self.in_flight.clone(),
        };
        let mut state = LoopState::new();
        self.health.running.store(true, Ordering::Release);
        while let Some((mut room, jobs)) = self.fill(&mut state, &mut controls).await {
            let mut foreign = Vec::new();
            for taken in jobs {
                let permit = room.split(1).expect("one permit per job");
                if !self.options.take_foreign_jobs && taken.job.is_pickled() {
                    foreign.push(taken);
                    continue;
                }
                self.spawn(taken, permit, &ended_tx);
            }
            // Jobs put back were not run: they do not count towards --max-jobs.
            state.taken = state.taken.saturating_sub(foreign.len() as u64);
            self.put_back_foreign(foreign, &ended_tx);
        }
        self.health.running.store(false, Ordering::Release);
        let cold = self.drain(&mut controls.signals).await;
        drop(ended_tx);
        self.flush(writer, cold).await;
        listener.abort();
        upkeep.abort();
        self.stop().await
    }

    fn upkeep(&self) -> Upkeep {
        Upkeep {
            conn: self.conn.clone(),
            me: self.me.clone(),
            in_flight: self.in_flight.clone(),
            registration_ttl: self.registration_ttl,
            heartbeat_ttl: self.heartbeat_ttl,
            heartbeat_every: Duration::from_secs(self.options.job_monitoring_interval.clamp(1, 10)),
            health: self.health.clone(),
            with_scheduler: self.options.with_scheduler,
        }
    }

    /// Waits for free slots and takes a batch of jobs for them; `None` means "stop". Batches
    /// are at least a quarter of the slots while busy, so a busy worker makes few round trips.
    async fn fill(
        &mut self,
        state: &mut LoopState,
        controls: &mut Controls,
    ) -> Option<(OwnedSemaphorePermit, Vec<Taken>)> {
        loop {
            if self.options.max_jobs.is_some_and(|max| state.taken >= max) {
                return None;
            }
            // Right after a full batch (a backlog), the slots still free are filled at once, so
            // a worker with a backlog holds `concurrency` jobs, not up to a quarter less.
            let filling = std::mem::take(&mut state.backlog) && self.slots.available_permits() > 0;
            let want = if filling || self.in_flight.is_empty() {
                1
            } else {
                (self.options.concurrency / 4).max(1)
            };
            let mut room = controls
                .until(self.slots.clone().acquire_many_owned(want as u32))
                .await?
                .expect("the slots semaphore is never closed");
            let extra = self.slots.available_permits();
            if let Ok(more) = self.slots.clone().try_acquire_many_owned(extra as u32) {
                room.merge(more);
            }
            let mut count = room.num_permits().min(256);
            if let Some(max) = self.options.max_jobs {
                count = count.min((max - state.taken) as usize);
            }
            let serving = self.serving();
            if serving.is_empty() {
                tracing::error!(
                    "every queue of this worker was left to other workers (they held jobs it cannot run): exiting"
                );
                return None;
            }
            let fetched = fetch::take(
                &mut self.conn,
                &self.me.key(),
                &self.me.name,
                &serving,
                count,
                self.heartbeat_ttl,
                &mut state.lost,
            )
            .await;
            let keep_going = match fetched {
                Ok(Fetched::Jobs(jobs)) if !jobs.is_empty() => {
                    self.resumed(state).await;
                    state.took(jobs.len(), jobs.len() == count && !filling);
                    if room.num_permits() > jobs.len() {
                        drop(room.split(room.num_permits() - jobs.len()));
                    }
                    return Some((room, jobs));
                }
                Ok(Fetched::Jobs(_)) => {
                    drop(room);
                    self.resumed(state).await;
                    self.idle(state, controls).await
                }
                Ok(Fetched::Suspended) => {
                    drop(room);
                    // Redis answered: the loop no longer waits for it, only for the resume.
                    self.health
                        .waiting_for_redis
                        .store(false, Ordering::Release);
                    self.suspended(state, controls).await
                }
                Err(error) => {
                    drop(room);
                    self.health.waiting_for_redis.store(true, Ordering::Release);
                    if !state.outage_logged {
                        tracing::error!(
                            "Redis unavailable at {}: {error}; retrying",
                            self.conn.display()
                        );
                        state.outage_logged = true;
                    }
                    controls.wait(Duration::from_secs(1)).await
                }
            };
            if !keep_going {
                return None;
            }
        }
    }

    /// After a successful fetch: says so once when Redis came back or the suspension ended,
    /// and reconciles what dequeues with lost replies took.
    async fn resumed(&mut self, state: &mut LoopState) {
        self.health
            .waiting_for_redis
            .store(false, Ordering::Release);
        if std::mem::take(&mut state.outage_logged) {
            tracing::info!("Redis is back at {}", self.conn.display());
        }
        if !state.lost.is_empty() {
            self.reclaim_lost(state).await;
        }
        if std::mem::take(&mut state.suspended_logged) {
            tracing::info!("Worker resumed");
            self.set_state(WorkerState::Idle).await;
        }
    }

    /// Puts back the jobs that dequeues with lost replies took. A dequeue sent on a connection
    /// that was given up may still be run after Redis answers the new one, so the lost ranges
    /// are looked at again on every fetch until [`LOST_GRACE`] after the first success.
    async fn reclaim_lost(&mut self, state: &mut LoopState) {
        let since = *state.answering_since.get_or_insert_with(Instant::now);
        match fetch::reclaim_lost(&mut self.conn, &self.me.name, &self.me.queues, &state.lost).await
        {
            Ok(back) => {
                if back > 0 {
                    tracing::warn!(
                        "{back} job(s) taken while Redis's reply was lost put back at the front of their queues"
                    );
                }
                if since.elapsed() >= LOST_GRACE {
                    state.lost.clear();
                    state.answering_since = None;
                }
            }
            Err(error) => tracing::debug!("cannot reconcile the lost dequeues yet: {error}"),
        }
    }

    /// The queues were empty: exit in burst mode once nothing can come back, exit after
    /// `--max-idle-time`, else wait a little longer each time. False means "stop".
    async fn idle(&mut self, state: &mut LoopState, controls: &mut Controls) -> bool {
        let idle = self.in_flight.is_empty();
        if self.options.burst && idle {
            // Outcomes not yet written may put jobs back (a retry without interval).
            if self.counts.unwritten.load(Ordering::Acquire) == 0
                && self.queues_empty().await
                && !self.more_pending().await
            {
                return false;
            }
            return controls.wait(Duration::from_millis(5)).await;
        }
        if let Some(max) = self.options.max_idle_time {
            if idle && state.last_job.elapsed() >= max {
                tracing::info!("Idle for {max:?}, exiting");
                return false;
            }
        }
        let keep_going = controls.wait(state.poll).await;
        state.poll = (state.poll * 2).min(self.options.max_poll_interval);
        keep_going
    }

    /// `rq:suspended` is set: a burst worker exits, others say so once and wait.
    async fn suspended(&mut self, state: &mut LoopState, controls: &mut Controls) -> bool {
        if self.options.burst {
            tracing::info!("Suspended in burst mode, exiting");
            return false;
        }
        if !state.suspended_logged {
            tracing::info!("Worker suspended (rq:suspended is set); waiting");
            self.set_state(WorkerState::Suspended).await;
            state.suspended_logged = true;
        }
        controls.wait(Duration::from_secs(1)).await
    }

    /// Jobs of a batch that are not this worker's to run (pickled: NetBox's own, Python RQ's
    /// default serializer) go back to the front of their queue, last taken first so that they
    /// keep their order, and their queues are left to the workers whose jobs they are.
    fn put_back_foreign(&self, foreign: Vec<Taken>, ended: &mpsc::UnboundedSender<Ended>) {
        let reason = crate::rq::serializer::DecodeError::Pickled.to_string();
        let now = timestamp::epoch_f64(chrono::Utc::now());
        for taken in &foreign {
            leave(&self.left, &taken.queue, &taken.job.id, &reason);
        }
        for taken in foreign.into_iter().rev() {
            self.counts.unwritten.fetch_add(1, Ordering::AcqRel);
            let _ = ended.send(Ended {
                attempt: execute::attempt_number(&taken),
                result_ttl: None,
                failure_ttl: None,
                id: taken.job.id,
                queue: taken.queue,
                execution: taken.execution,
                outcome: Outcome::Foreign(reason.clone()),
                details: None,
                started: now,
                ended: now,
            });
        }
    }

    /// Runs one job in its own task; its outcome goes to the writer, its slot back to the pool.
    fn spawn(
        &self,
        taken: Taken,
        permit: OwnedSemaphorePermit,
        ended: &mpsc::UnboundedSender<Ended>,
    ) {
        let interrupted = self
            .in_flight
            .insert(&taken.job.id, &taken.queue, &taken.execution);
        let (functions, in_flight, counts, ended) = (
            self.functions.clone(),
            self.in_flight.clone(),
            self.counts.clone(),
            ended.clone(),
        );
        let metrics = crate::metrics::metrics();
        metrics.jobs_in_flight.inc();
        if let Some(enqueued) = taken.job.time("enqueued_at") {
            let waited = (chrono::Utc::now() - enqueued)
                .num_microseconds()
                .unwrap_or(0);
            metrics
                .job_wait
                .with_label_values(&[&taken.queue])
                .observe(waited.max(0) as f64 / 1e6);
        }
        tokio::spawn(async move {
            let started = chrono::Utc::now();
            let ran = execute::run(&taken, &functions, interrupted).await;
            let finished = chrono::Utc::now();
            log_outcome(&taken, &ran.outcome, finished - started);
            match ran.outcome {
                Outcome::Finished(_) => counts.finished.fetch_add(1, Ordering::Relaxed),
                Outcome::Requeue | Outcome::Foreign(_) | Outcome::Park { .. } => 0,
                _ => counts.failed.fetch_add(1, Ordering::Relaxed),
            };
            let record = Ended {
                attempt: execute::attempt_number(&taken),
                result_ttl: taken.job.int("result_ttl").ok().flatten(),
                failure_ttl: taken.job.int("failure_ttl").ok().flatten(),
                id: taken.job.id,
                queue: taken.queue,
                execution: taken.execution,
                outcome: ran.outcome,
                details: ran.details,
                started: timestamp::epoch_f64(started),
                ended: timestamp::epoch_f64(finished),
            };
            counts.unwritten.fetch_add(1, Ordering::AcqRel);
            in_flight.remove(&record.id);
            crate::metrics::metrics().jobs_in_flight.dec();
            // The writer outlives every job task: it ends only when all senders are gone.
            let _ = ended.send(record);
            drop(permit);
        });
    }

    /// Warm shutdown: lets running jobs finish; a second signal turns it cold (running jobs
    /// go back to the front of their queues). True when it went cold.
    async fn drain(&self, signals: &mut StopSignals) -> bool {
        let running = self.in_flight.len();
        if running > 0 {
            tracing::info!(
                "Waiting for {running} running job(s) to finish; send the signal again to stop now"
            );
        }
        let all = self.options.concurrency as u32;
        tokio::select! {
            _ = self.slots.acquire_many(all) => false,
            _ = signals.recv() => {
                let told = self.in_flight.interrupt_all(Interrupt::Requeue);
                tracing::warn!("Cold shut down: putting {told} running job(s) back on their queues");
                let _ = tokio::time::timeout(Duration::from_secs(5), self.slots.acquire_many(all)).await;
                true
            }
        }
    }

    /// Waits for the writer to record every outcome (briefly when cold).
    async fn flush(&self, writer: tokio::task::JoinHandle<()>, cold: bool) {
        let patience = if cold {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(3600)
        };
        if tokio::time::timeout(patience, writer).await.is_err() {
            tracing::error!("Could not record every outcome before exiting; unrecorded jobs stay in the started registry and are recovered as abandoned");
        }
    }

    /// Deregisters and says what was done.
    async fn stop(mut self) -> WorkerReport {
        if let Err(error) = registration::deregister(&mut self.conn, &self.me).await {
            tracing::warn!("could not deregister worker {}: {error}", self.me.name);
        }
        if self.options.with_scheduler {
            if let Err(error) = upkeep::release_locks(&mut self.conn, &self.me).await {
                tracing::warn!("could not release the scheduler locks: {error}");
            }
        }
        let report = WorkerReport {
            name: self.me.name.clone(),
            finished: self.counts.finished.load(Ordering::Relaxed),
            failed: self.counts.failed.load(Ordering::Relaxed),
        };
        tracing::info!(
            "Worker {} stopped: {} finished, {} failed",
            report.name,
            report.finished,
            report.failed
        );
        report
    }

    async fn set_state(&mut self, state: WorkerState) {
        if let Err(error) = registration::set_state(&mut self.conn, &self.me, state).await {
            tracing::warn!(
                "cannot set the worker's state to {}: {error}",
                state.as_str()
            );
        }
    }

    async fn more_pending(&self) -> bool {
        match &self.pending {
            Some(pending) => pending(self.conn.clone()).await,
            None => false,
        }
    }

    /// The queues this worker takes jobs from: its own, less those left to other workers.
    fn serving(&self) -> Vec<String> {
        let left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        self.me
            .queues
            .iter()
            .filter(|q| !left.contains(q))
            .cloned()
            .collect()
    }

    async fn queues_empty(&mut self) -> bool {
        let serving = self.serving();
        if serving.is_empty() {
            // Every queue was left to other workers: nothing will ever be taken from them.
            return true;
        }
        let mut pipe = redis::pipe();
        for queue in &serving {
            pipe.llen(keys::queue(queue));
        }
        pipe.query_async::<Vec<u64>>(&mut self.conn)
            .await
            .map(|lengths| lengths.iter().all(|l| *l == 0))
            .unwrap_or(false)
    }
}

/// What the fill loop remembers between batches.
struct LoopState {
    /// Jobs taken so far (for `--max-jobs`).
    taken: u64,
    last_job: Instant,
    /// The wait before the next look at empty queues; doubles up to the maximum.
    poll: Duration,
    /// The last batch was full: fill the free slots at once.
    backlog: bool,
    outage_logged: bool,
    suspended_logged: bool,
    /// Dequeues whose replies never came, to reconcile once Redis answers.
    lost: Vec<fetch::Lost>,
    /// When Redis first answered after the last lost dequeue.
    answering_since: Option<Instant>,
}

/// How long after Redis answers again a lost dequeue is still looked for: one sent on a dropped
/// connection may run after the new connection's commands.
const LOST_GRACE: Duration = Duration::from_secs(3);

impl LoopState {
    fn new() -> Self {
        Self {
            taken: 0,
            last_job: Instant::now(),
            poll: Duration::from_millis(1),
            backlog: false,
            outage_logged: false,
            suspended_logged: false,
            lost: Vec::new(),
            answering_since: None,
        }
    }

    fn took(&mut self, count: usize, full: bool) {
        self.taken += count as u64;
        self.last_job = Instant::now();
        self.poll = Duration::from_millis(1);
        self.backlog = full;
    }
}

/// What can stop the worker while it waits: signals and pub/sub commands (which may also
/// stop single jobs).
struct Controls {
    signals: StopSignals,
    commands: mpsc::UnboundedReceiver<Command>,
    in_flight: Arc<InFlight>,
}

impl Controls {
    /// Waits for `work`, unless a signal or a shutdown command comes first (then `None`).
    async fn until<F: Future>(&mut self, work: F) -> Option<F::Output> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Some(done),
                stop = self.signals.recv() => {
                    tracing::info!("Warm shut down requested ({stop:?})");
                    return None;
                }
                Some(command) = self.commands.recv() => if self.obey(command) { return None },
            }
        }
    }

    /// Sleeps for `delay`; false when asked to stop meanwhile.
    async fn wait(&mut self, delay: Duration) -> bool {
        self.until(tokio::time::sleep(delay)).await.is_some()
    }

    /// Acts on a pub/sub command; true means "shut down".
    fn obey(&self, command: Command) -> bool {
        match command {
            Command::Shutdown => {
                tracing::info!("Warm shut down requested (shutdown command)");
                return true;
            }
            Command::StopJob(id) => {
                if !self.in_flight.interrupt(&id, Interrupt::Stop) {
                    tracing::info!("stop-job {id}: not running here");
                }
            }
            Command::KillHorse => {
                self.in_flight.interrupt_all(Interrupt::Stop);
            }
        }
        false
    }
}

fn log_outcome(taken: &Taken, outcome: &Outcome, took: chrono::TimeDelta) {
    let level_needed = if matches!(
        outcome,
        Outcome::Failed(_) | Outcome::Retry { .. } | Outcome::Park { .. }
    ) {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    if level_needed > tracing::level_filters::LevelFilter::current() {
        return;
    }
    let func = taken.job.func_name();
    let ms = took.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let (queue, id) = (&taken.queue, &taken.job.id);
    // A job that carries a W3C trace says which, so its log lines can be found by trace id.
    let id = match taken
        .job
        .meta()
        .as_ref()
        .and_then(|meta| meta.get("traceparent"))
        .and_then(|tp| tp.as_str())
        .and_then(|tp| crate::trace::TraceParent::parse(tp).ok())
    {
        Some(trace) => format!("{id} [trace {}]", trace.trace_id()),
        None => id.clone(),
    };
    match outcome {
        Outcome::Failed(reason) => tracing::warn!("{queue}: {id} {func} failed in {ms:.1} ms: {reason}"),
        Outcome::Retry {
            reason,
            interval,
            retries_left,
            ..
        } => tracing::warn!(
            "{queue}: {id} {func} failed in {ms:.1} ms, retry in {interval} s ({retries_left} left): {reason}"
        ),
        // Not a failure, and an open circuit sets aside every job of its webhook: the circuit's
        // own warning says why once.
        Outcome::Park { reason, .. } => {
            tracing::info!("{queue}: {id} {func} waits (deferred, no retry used): {reason}")
        }
        other => tracing::info!("{queue}: {id} {func} {} in {ms:.1} ms", other.label()),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Leaves `queue` to the workers whose jobs it holds, saying so once: a shared Redis (NetBox's
/// own, say) must not have its jobs failed by a worker that cannot run them.
fn leave(left: &std::sync::Mutex<Vec<String>>, queue: &str, job: &str, reason: &str) {
    let mut left = left.lock().unwrap_or_else(|e| e.into_inner());
    if left.iter().any(|q| q == queue) {
        return;
    }
    left.push(queue.to_string());
    tracing::warn!(
        "queue {queue} holds job {job} this worker cannot run ({reason}): it is back at the front of the queue, and queue {queue} is left to the workers that run such jobs (give manage queues or a Redis database of its own, or run with --take-foreign-jobs to fail them as RQ would)"
    );
}
