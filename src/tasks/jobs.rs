//! Lists of jobs: one queue, one status, one page, with each job's hash and latest result fetched
//! in a single pipeline. Queued jobs come from the queue list in the order they will run;
//! every other status from its registry.

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{
    check_queue,
    decode::{self, LatestResult},
    TaskResult,
};
use crate::rq::{
    job::{Job, JobStatus},
    keys::{self, Registry},
};

/// The statuses a queue's jobs are listed by: its list and each of its registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ListStatus {
    /// `rq:queue:<q>`.
    Queued,
    /// `rq:wip:<q>`.
    Started,
    /// `rq:deferred:<q>`.
    Deferred,
    /// `rq:finished:<q>`.
    Finished,
    /// `rq:failed:<q>` (stopped jobs too).
    Failed,
    /// `rq:scheduled:<q>`.
    Scheduled,
    /// `rq:canceled:<q>`.
    Canceled,
}

impl ListStatus {
    /// Every status, in the order the views show them.
    pub const ALL: [ListStatus; 7] = [
        Self::Queued,
        Self::Started,
        Self::Deferred,
        Self::Finished,
        Self::Failed,
        Self::Scheduled,
        Self::Canceled,
    ];

    /// The name used in URLs, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Started => "started",
            Self::Deferred => "deferred",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Scheduled => "scheduled",
            Self::Canceled => "canceled",
        }
    }

    /// Parses a name from a URL.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The registry behind the status; `None` for the queue list.
    pub fn registry(self) -> Option<Registry> {
        match self {
            Self::Queued => None,
            Self::Started => Some(Registry::Started),
            Self::Deferred => Some(Registry::Deferred),
            Self::Finished => Some(Registry::Finished),
            Self::Failed => Some(Registry::Failed),
            Self::Scheduled => Some(Registry::Scheduled),
            Self::Canceled => Some(Registry::Canceled),
        }
    }

    /// Whether the list reads oldest first (the next to run or come due) rather than newest first.
    fn oldest_first(self) -> bool {
        matches!(self, Self::Queued | Self::Scheduled | Self::Deferred)
    }
}

impl std::fmt::Display for ListStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a job list.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    /// The job id.
    pub id: String,
    /// The queue it was listed under.
    pub queue: String,
    /// The stored status, `missing` when the hash has expired, or `<undecodable: …>`.
    pub status: String,
    /// The function name, or `<undecodable: …>`.
    pub function: String,
    /// When it was created (RQ format, as stored).
    pub created_at: Option<String>,
    /// When it was last enqueued.
    pub enqueued_at: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
    /// One line saying why it failed, for failed and stopped jobs.
    pub reason: Option<String>,
    /// Whether its hash still exists.
    pub exists: bool,
}

/// One page of a job list.
#[derive(Debug, Clone, Serialize)]
pub struct JobPage {
    /// The queue.
    pub queue: String,
    /// The status listed.
    pub status: ListStatus,
    /// Jobs in the list or registry altogether.
    pub total: u64,
    /// Index of the first job on this page.
    pub offset: u64,
    /// The jobs on this page.
    pub jobs: Vec<JobSummary>,
}

/// Characters of a failure reason shown in a list.
pub const REASON_CHARS: usize = 120;

/// One page of a queue's jobs in one status: at most `limit` from `offset`, oldest first for
/// queued, scheduled and deferred jobs, newest first otherwise.
pub async fn list<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    status: ListStatus,
    offset: u64,
    limit: u64,
) -> TaskResult<JobPage> {
    check_queue(queue)?;
    let (total, ids) = ids(conn, queue, status, offset, limit).await?;
    let jobs = fetch(conn, &ids)
        .await?
        .into_iter()
        .zip(ids)
        .map(|((job, result), id)| summary(id, queue, job, result.as_ref()))
        .collect();
    Ok(JobPage {
        queue: queue.to_string(),
        status,
        total,
        offset,
        jobs,
    })
}

async fn ids<C: ConnectionLike>(
    conn: &mut C,
    queue: &str,
    status: ListStatus,
    offset: u64,
    limit: u64,
) -> TaskResult<(u64, Vec<String>)> {
    // Redis takes indexes up to i64::MAX: a page number from a URL may be anything.
    let last = i64::MAX as u64;
    let offset = offset.min(last);
    let stop = offset.saturating_add(limit.max(1) - 1).min(last);
    let mut pipe = redis::pipe();
    match status.registry() {
        None => {
            let key = keys::queue(queue);
            pipe.cmd("LLEN").arg(&key);
            pipe.cmd("LRANGE").arg(&key).arg(offset).arg(stop);
        }
        Some(registry) => {
            let key = registry.key(queue);
            pipe.cmd("ZCARD").arg(&key);
            pipe.cmd(if status.oldest_first() {
                "ZRANGE"
            } else {
                "ZREVRANGE"
            })
            .arg(&key)
            .arg(offset)
            .arg(stop);
        }
    }
    let (total, members): (u64, Vec<String>) = pipe.query_async(conn).await?;
    let ids = members
        .into_iter()
        .map(|m| match status {
            // Started members are `<id>:<execution>`; ids never contain ':'.
            ListStatus::Started => m.split(':').next().unwrap_or_default().to_string(),
            _ => m,
        })
        .collect();
    Ok((total, ids))
}

/// Each job's hash and latest result, in one pipeline: `HGETALL` and `XREVRANGE … COUNT 1` per
/// id. A key of the wrong type reads as a missing job rather than failing the page.
pub async fn fetch<C: ConnectionLike>(
    conn: &mut C,
    ids: &[String],
) -> TaskResult<Vec<(Option<Job>, Option<LatestResult>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for id in ids {
        pipe.cmd("HGETALL").arg(keys::job(id));
        pipe.cmd("XREVRANGE")
            .arg(keys::results(id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1);
    }
    let mut replies: Vec<redis::Value> = pipe.query_async(conn).await?;
    if replies.len() != ids.len() * 2 {
        replies.resize(ids.len() * 2, redis::Value::Nil);
    }
    let mut replies = replies.into_iter();
    Ok(ids
        .iter()
        .map(|id| {
            let job = replies
                .next()
                .and_then(|reply| decode::job_from_reply(id, reply));
            let result = replies.next().and_then(decode::result_from_reply);
            (job, result)
        })
        .collect())
}

/// The status as shown: the stored one, or why it cannot be read.
pub fn shown_status(job: &Job) -> String {
    match job.status() {
        Ok(status) => status.to_string(),
        Err(reason) => decode::undecodable(reason),
    }
}

/// The function as shown: its name; for a job whose data cannot be read (NetBox's own jobs are
/// pickled), the name RQ wrote in plain text at the head of its description, saying so; else
/// why the data cannot be read.
pub fn shown_function(job: &Job) -> String {
    match job.call() {
        Ok(call) => call.func_name,
        Err(reason) => match described_function(job) {
            Some(name) => format!("{name} <from its description: {reason}>"),
            None => decode::undecodable(reason),
        },
    }
}

/// The dotted name before the `(` of an RQ description (`extras.webhooks.send_webhook(data=…)`);
/// only that, since the arguments may carry anything.
fn described_function(job: &Job) -> Option<String> {
    let description = field(job, "description")?;
    let (name, _) = description.split_once('(')?;
    let dotted = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    (!name.is_empty() && name.chars().all(dotted)).then(|| name.to_string())
}

/// A stored field, `None` when absent or empty; lossy when not UTF-8.
pub fn field(job: &Job, name: &str) -> Option<String> {
    job.fields
        .get(name)
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .filter(|v| !v.is_empty())
}

fn summary(id: String, queue: &str, job: Option<Job>, result: Option<&LatestResult>) -> JobSummary {
    let Some(job) = job else {
        return JobSummary {
            id,
            queue: queue.to_string(),
            status: "missing".into(),
            function: "<missing: the job hash has expired or was deleted>".into(),
            created_at: None,
            enqueued_at: None,
            ended_at: None,
            reason: None,
            exists: false,
        };
    };
    let failed = job.status().is_ok_and(JobStatus::ended_badly);
    JobSummary {
        status: shown_status(&job),
        function: shown_function(&job),
        created_at: field(&job, "created_at"),
        enqueued_at: field(&job, "enqueued_at"),
        ended_at: field(&job, "ended_at"),
        reason: failed
            .then(|| decode::failure_text(&job, result))
            .flatten()
            .map(|text| decode::short_reason(&text, REASON_CHARS)),
        exists: true,
        queue: queue.to_string(),
        id,
    }
}
