//! Putting failed jobs back on their queues, all of a queue's or by id, in batches of atomic
//! moves, so an interrupted run never loses or duplicates a job: what `manage requeue_failed`
//! and the page's "requeue all failed" do.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redis::aio::ConnectionLike;
use regex::Regex;
use serde::Serialize;

use super::{decode::LatestResult, jobs, TaskResult};
use crate::{
    rq::{
        job::Job,
        keys::{self, Registry},
        queue,
        registry::{self, Requeued},
    },
    webhooks::SEND_WEBHOOK,
};

/// Jobs moved per script call.
pub const BATCH: usize = 1000;

/// Which failed jobs to put back.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// These ids; empty means every failed job.
    pub ids: Vec<String>,
    /// Only these queues; empty means every queue in `rq:queues`.
    pub queues: Vec<String>,
    /// Only the failed jobs this picks.
    pub filter: Filter,
    /// Count what would move; move nothing.
    pub dry_run: bool,
}

/// What a failed job must be like to be requeued; every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A webhook job of this webhook.
    pub webhook: Option<String>,
    /// Ended at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Ended before this time.
    pub until: Option<DateTime<Utc>>,
    /// Its last attempt got this HTTP status.
    pub status: Option<StatusMatch>,
    /// Its failure reason matches this expression.
    pub reason: Option<Regex>,
}

/// An HTTP status, or a class of them (`5xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// Exactly this status.
    Code(u16),
    /// Any status of this hundred (5 for `5xx`).
    Class(u16),
}

impl StatusMatch {
    /// `503`, `5xx` or `4XX`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let fail =
            || format!("expected a status such as 503, or a class such as 5xx, found {text:?}");
        if let Some(class) = text.strip_suffix("xx") {
            let class: u16 = class.parse().map_err(|_| fail())?;
            return (1..=5)
                .contains(&class)
                .then_some(Self::Class(class))
                .ok_or_else(fail);
        }
        let code: u16 = text.parse().map_err(|_| fail())?;
        (100..600)
            .contains(&code)
            .then_some(Self::Code(code))
            .ok_or_else(fail)
    }

    fn holds(self, status: u16) -> bool {
        match self {
            Self::Code(code) => status == code,
            Self::Class(class) => status / 100 == class,
        }
    }
}

impl Filter {
    /// Whether anything is asked (else every failed job is picked without reading it).
    pub fn is_empty(&self) -> bool {
        self.webhook.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.status.is_none()
            && self.reason.is_none()
    }

    /// Whether a failed job, read with its latest result, is one to requeue.
    fn picks(&self, job: &Job, result: Option<&LatestResult>) -> bool {
        if let Some(name) = &self.webhook {
            let call = job.call().ok();
            let webhook = call
                .as_ref()
                .filter(|c| c.func_name == SEND_WEBHOOK)
                .and_then(|c| c.kwargs.get("webhook"))
                .and_then(|w| w.as_str());
            if webhook != Some(name.as_str()) {
                return false;
            }
        }
        let ended = job.time("ended_at");
        if self
            .since
            .is_some_and(|since| ended.is_none_or(|t| t < since))
        {
            return false;
        }
        if self
            .until
            .is_some_and(|until| ended.is_none_or(|t| t >= until))
        {
            return false;
        }
        let reason = result.and_then(|r| r.failure.clone()).unwrap_or_default();
        if let Some(status) = self.status {
            if !http_status(result, &reason).is_some_and(|s| status.holds(s)) {
                return false;
            }
        }
        self.reason.as_ref().is_none_or(|re| re.is_match(&reason))
    }
}

/// The HTTP status of a failed attempt: from its details, else from a NetBox-style reason
/// (`Status 503 returned with content …`).
fn http_status(result: Option<&LatestResult>, reason: &str) -> Option<u16> {
    let recorded = result
        .and_then(|r| r.details.as_ref())
        .and_then(|d| d.get("status"))
        .and_then(serde_json::Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    recorded.or_else(|| {
        let rest = reason.strip_prefix("Status ")?;
        rest.split(' ').next()?.parse().ok()
    })
}

/// What a requeue did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Jobs requeued (or that would be) per queue; queues with none are left out.
    pub queues: BTreeMap<String, u64>,
    /// Ids asked for that are not in a failed registry (of the queues asked for).
    pub not_found: Vec<String>,
}

impl Report {
    /// Jobs requeued (or that would be) in all.
    pub fn total(&self) -> u64 {
        self.queues.values().sum()
    }
}

/// Carries out `request`; `progress` is told the total once, then each batch's size as it moves.
pub async fn requeue<C: ConnectionLike>(
    conn: &mut C,
    request: &Request,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let queues = if request.queues.is_empty() {
        queue::all_names(conn).await?
    } else {
        request.queues.clone()
    };
    if request.ids.is_empty() && request.filter.is_empty() {
        all(conn, &queues, request.dry_run, progress).await
    } else if request.ids.is_empty() {
        let mut pairs = Vec::new();
        for queue in &queues {
            let ids = registry::job_ids(conn, Registry::Failed, queue, 0, -1).await?;
            pairs.extend(ids.into_iter().map(|id| (queue.clone(), id)));
        }
        let picked = pick(conn, &request.filter, pairs).await?;
        move_pairs(conn, picked, request.dry_run, Report::default(), progress).await
    } else {
        by_id(conn, request, progress).await
    }
}

/// The `(queue, id)` pairs whose jobs `filter` picks, read a batch at a time.
async fn pick<C: ConnectionLike>(
    conn: &mut C,
    filter: &Filter,
    pairs: Vec<(String, String)>,
) -> TaskResult<Vec<(String, String)>> {
    if filter.is_empty() {
        return Ok(pairs);
    }
    let mut picked = Vec::new();
    for chunk in pairs.chunks(BATCH) {
        let ids: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
        let read = jobs::fetch(conn, &ids).await?;
        for (pair, (job, result)) in chunk.iter().zip(read) {
            if job.is_some_and(|job| filter.picks(&job, result.as_ref())) {
                picked.push(pair.clone());
            }
        }
    }
    Ok(picked)
}

/// A step of a long requeue, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// How many jobs there are to move.
    Total(u64),
    /// This many more were handled.
    Moved(u64),
}

async fn all<C: ConnectionLike>(
    conn: &mut C,
    queues: &[String],
    dry_run: bool,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let mut report = Report::default();
    let mut total = 0;
    for queue in queues {
        if !dry_run {
            drop_expired(conn, queue).await?;
        }
        total += registry::count(conn, Registry::Failed, queue).await?;
    }
    progress(Progress::Total(total));
    for queue in queues {
        let moved = if dry_run {
            registry::count(conn, Registry::Failed, queue).await?
        } else {
            requeue_queue(conn, queue, &mut |n| progress(Progress::Moved(n))).await?
        };
        if moved > 0 {
            report.queues.insert(queue.clone(), moved);
        }
    }
    Ok(report)
}

/// Drops entries of a queue's failed registry whose failure TTL has passed (their hashes are
/// gone or going), as `rq requeue --all` does first.
pub async fn drop_expired<C: ConnectionLike>(conn: &mut C, queue: &str) -> TaskResult<()> {
    redis::cmd("ZREMRANGEBYSCORE")
        .arg(Registry::Failed.key(queue))
        .arg(0)
        .arg(chrono::Utc::now().timestamp())
        .query_async::<()>(conn)
        .await?;
    Ok(())
}

/// Moves every failed job of `queue` back onto it in atomic batches, telling `moved` the size
/// of each batch handled. Returns how many were requeued.
pub async fn requeue_queue<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    moved: &mut (dyn FnMut(u64) + Send),
) -> TaskResult<u64> {
    let mut requeued = 0u64;
    loop {
        let ids = registry::job_ids(conn, Registry::Failed, queue, 0, BATCH as isize).await?;
        if ids.is_empty() {
            return Ok(requeued);
        }
        let pairs: Vec<(String, String)> =
            ids.into_iter().map(|id| (queue.to_string(), id)).collect();
        let results = registry::requeue_failed(conn, &pairs).await?;
        requeued += results.iter().filter(|r| **r == Requeued::Yes).count() as u64;
        moved(pairs.len() as u64);
    }
}

async fn by_id<C: ConnectionLike>(
    conn: &mut C,
    request: &Request,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    let mut report = Report::default();
    let mut pairs = Vec::new();
    for id in &request.ids {
        if !keys::valid_job_id(id) {
            report.not_found.push(id.clone());
            continue;
        }
        let origin: Option<String> = redis::cmd("HGET")
            .arg(keys::job(id))
            .arg("origin")
            .query_async(conn)
            .await?;
        match origin.filter(|o| request.queues.is_empty() || request.queues.contains(o)) {
            Some(origin) => pairs.push((origin, id.clone())),
            None => report.not_found.push(id.clone()),
        }
    }
    let pairs = pick(conn, &request.filter, pairs).await?;
    move_pairs(conn, pairs, request.dry_run, report, progress).await
}

/// Requeues (or, dry, counts) `pairs` that are in their failed registries; the others go to
/// `not_found`.
async fn move_pairs<C: ConnectionLike>(
    conn: &mut C,
    pairs: Vec<(String, String)>,
    dry_run: bool,
    mut report: Report,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> TaskResult<Report> {
    progress(Progress::Total(pairs.len() as u64));
    if dry_run {
        for (queue, id) in pairs {
            let score: Option<f64> = redis::cmd("ZSCORE")
                .arg(Registry::Failed.key(&queue))
                .arg(&id)
                .query_async(conn)
                .await?;
            match score {
                Some(_) => *report.queues.entry(queue).or_default() += 1,
                None => report.not_found.push(id),
            }
        }
        return Ok(report);
    }
    for chunk in pairs.chunks(BATCH) {
        let results = registry::requeue_failed(conn, chunk).await?;
        for ((queue, id), result) in chunk.iter().zip(results) {
            match result {
                Requeued::Yes => *report.queues.entry(queue.clone()).or_default() += 1,
                Requeued::NotFailed | Requeued::Gone => report.not_found.push(id.clone()),
            }
        }
        progress(Progress::Moved(chunk.len() as u64));
    }
    Ok(report)
}
