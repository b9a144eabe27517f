//! The job hash `rq:job:<id>`: what a new job writes (what Python RQ accepts) and how any job is
//! read back (tolerantly: a bad field fails the job with a reason, never the worker).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{keys, serializer, timestamp, DEFAULT_TIMEOUT};

/// RQ 2.12's nine job statuses; no other string is ever written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting in a queue list.
    Queued,
    /// Being run by a worker.
    Started,
    /// Ran and returned.
    Finished,
    /// Ran and failed (or was abandoned).
    Failed,
    /// Waiting on dependencies.
    Deferred,
    /// Waiting for its time in the scheduled registry.
    Scheduled,
    /// Stopped by a user while running.
    Stopped,
    /// Canceled before running.
    Canceled,
    /// Created, not yet enqueued.
    Created,
    /// RQ 3: held back by its `RateLimit` until a job with its key ends.
    RateLimited,
    /// RQ 3: its time in the scheduled registry came, about to be enqueued.
    ReadyToEnqueue,
}

impl JobStatus {
    /// Every status, in display order.
    pub const ALL: [JobStatus; 11] = [
        Self::Queued,
        Self::Started,
        Self::Deferred,
        Self::Scheduled,
        Self::Finished,
        Self::Failed,
        Self::Stopped,
        Self::Canceled,
        Self::Created,
        Self::RateLimited,
        Self::ReadyToEnqueue,
    ];

    /// The string RQ stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Deferred => "deferred",
            Self::Scheduled => "scheduled",
            Self::Stopped => "stopped",
            Self::Canceled => "canceled",
            Self::Created => "created",
            Self::RateLimited => "rate_limited",
            Self::ReadyToEnqueue => "ready_to_enqueue",
        }
    }

    /// Whether the job ended badly: failed (abandoned included) or stopped by a user.
    pub fn ended_badly(self) -> bool {
        matches!(self, Self::Failed | Self::Stopped)
    }

    /// Parses a stored status; `None` for anything RQ 3.0 would reject.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RQ's `Retry(max, interval)`: how many more attempts, and the wait before each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retry {
    /// Attempts left (`retries_left`).
    pub retries_left: i64,
    /// Seconds to wait before each retry (`retry_intervals`); empty or `[0]` means at once.
    pub intervals: Vec<i64>,
}

impl Retry {
    /// RQ's `get_retry_interval`: `intervals[max(len - retries_left, 0)]`, clamped to the last.
    pub fn next_interval(&self) -> i64 {
        if self.intervals.is_empty() {
            return 0;
        }
        let index = (self.intervals.len() as i64 - self.retries_left).max(0) as usize;
        self.intervals[index.min(self.intervals.len() - 1)]
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The job id; a uuid4 unless given.
    pub id: String,
    /// The queue name (`origin`).
    pub queue: String,
    /// What to run.
    pub call: serializer::Call,
    /// Seconds before the job is stopped (`timeout`); RQ's default 180.
    pub timeout: i64,
    /// Seconds a result is kept (`result_ttl`); `None` for RQ's default.
    pub result_ttl: Option<i64>,
    /// Seconds a failure is kept (`failure_ttl`); `None` for RQ's default (a year).
    pub failure_ttl: Option<i64>,
    /// Retries on failure.
    pub retry: Option<Retry>,
    /// `meta`, stored as JSON.
    pub meta: Option<Map<String, Value>>,
    /// Push to the front of the queue.
    pub at_front: bool,
    /// The chain it belongs to: it starts only after every job enqueued before it on the same
    /// chain has ended (see `lua/lib.lua`); `None` for an independent job.
    pub chain: Option<String>,
}

impl NewJob {
    /// A job with a fresh uuid4 id and RQ's defaults.
    pub fn new(
        queue: impl Into<String>,
        func_name: impl Into<String>,
        args: Vec<Value>,
        kwargs: Map<String, Value>,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            queue: queue.into(),
            call: serializer::Call {
                func_name: func_name.into(),
                args,
                kwargs,
            },
            timeout: DEFAULT_TIMEOUT,
            result_ttl: None,
            failure_ttl: None,
            retry: None,
            meta: None,
            at_front: false,
            chain: None,
        }
    }

    /// The hash fields, as Python RQ 2.12 writes them at enqueue.
    pub fn fields(&self, now: &str) -> Vec<(&'static str, Vec<u8>)> {
        let mut fields: Vec<(&'static str, Vec<u8>)> = vec![
            ("status", b"queued".to_vec()),
            ("created_at", now.as_bytes().to_vec()),
            ("enqueued_at", now.as_bytes().to_vec()),
            ("data", serializer::encode_data(&self.call)),
            ("origin", self.queue.as_bytes().to_vec()),
            (
                "description",
                serializer::call_string(&self.call, 256).into_bytes(),
            ),
            ("timeout", self.timeout.to_string().into_bytes()),
            ("started_at", Vec::new()),
            ("ended_at", Vec::new()),
            ("last_heartbeat", Vec::new()),
            ("worker_name", Vec::new()),
            ("group_id", Vec::new()),
            ("success_callback_name", Vec::new()),
            ("failure_callback_name", Vec::new()),
            ("stopped_callback_name", Vec::new()),
        ];
        if let Some(ttl) = self.result_ttl {
            fields.push(("result_ttl", ttl.to_string().into_bytes()));
        }
        if let Some(ttl) = self.failure_ttl {
            fields.push(("failure_ttl", ttl.to_string().into_bytes()));
        }
        if let Some(retry) = &self.retry {
            fields.push(("retries_left", retry.retries_left.to_string().into_bytes()));
            fields.push((
                "retry_intervals",
                serde_json::to_vec(&retry.intervals).expect("ints serialize"),
            ));
        }
        if let Some(meta) = self.meta.as_ref().filter(|m| !m.is_empty()) {
            fields.push(("meta", serde_json::to_vec(meta).expect("JSON serializes")));
        }
        if let Some(chain) = &self.chain {
            fields.push(("manage_chain", chain.as_bytes().to_vec()));
        }
        fields
    }
}

/// A job as read from its hash. Only the fields the worker and the tools use are parsed eagerly;
/// `data` is decoded on demand so a bad payload fails only that job.
#[derive(Debug, Clone, Default)]
pub struct Job {
    /// The job id.
    pub id: String,
    /// Every field, raw.
    pub fields: HashMap<String, Vec<u8>>,
}

impl Job {
    /// Wraps the fields of `HGETALL rq:job:<id>`.
    pub fn from_fields(id: impl Into<String>, fields: HashMap<String, Vec<u8>>) -> Self {
        Self {
            id: id.into(),
            fields,
        }
    }

    /// The raw text of a field, if present.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// An integer field; `Err` carries the reason when it is present but not an integer.
    pub fn int(&self, field: &str) -> Result<Option<i64>, String> {
        match self.text(field).map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| format!("field '{field}' is {text:?}, not an integer")),
        }
    }

    /// The stored status; `Err` names an unknown one.
    pub fn status(&self) -> Result<JobStatus, String> {
        match self.text("status") {
            None | Some("") => Ok(JobStatus::Created),
            Some(text) => {
                JobStatus::parse(text).ok_or_else(|| format!("unknown job status {text:?}"))
            }
        }
    }

    /// The queue the job belongs to.
    pub fn origin(&self) -> &str {
        self.text("origin").unwrap_or_default()
    }

    /// The decoded call.
    pub fn call(&self) -> Result<serializer::Call, String> {
        let raw = self
            .fields
            .get("data")
            .ok_or_else(|| "job has no 'data' field".to_string())?;
        serializer::decode_data(raw).map_err(|e| e.to_string())
    }

    /// Whether Python's pickle serializer wrote its `data` (no worker of ours can run it).
    pub fn is_pickled(&self) -> bool {
        self.fields
            .get("data")
            .is_some_and(|raw| serializer::is_pickled(raw))
    }

    /// The function name, or a placeholder when `data` cannot be read.
    pub fn func_name(&self) -> String {
        self.call()
            .map(|c| c.func_name)
            .unwrap_or_else(|_| "<undecodable>".into())
    }

    /// Job timeout in seconds: the job's own, else RQ's default; `None` for "no timeout" (-1).
    pub fn timeout(&self) -> Result<Option<u64>, String> {
        match self.int("timeout")? {
            Some(t) if t < 0 => Ok(None),
            Some(0) | None => Ok(Some(DEFAULT_TIMEOUT as u64)),
            Some(t) => Ok(Some(t as u64)),
        }
    }

    /// The retry state, if the job was enqueued with a retry.
    pub fn retry(&self) -> Result<Option<Retry>, String> {
        let Some(retries_left) = self.int("retries_left")? else {
            return Ok(None);
        };
        let intervals = match self.text("retry_intervals").map(str::trim) {
            None | Some("") => Vec::new(),
            Some(text) => serde_json::from_str::<Vec<i64>>(text).map_err(|_| {
                format!("field 'retry_intervals' is {text:?}, not a list of integers")
            })?,
        };
        Ok(Some(Retry {
            retries_left,
            intervals,
        }))
    }

    /// A timestamp field, parsed.
    pub fn time(&self, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.text(field).and_then(timestamp::parse)
    }

    /// `meta` as JSON, if it is JSON.
    pub fn meta(&self) -> Option<Value> {
        self.fields
            .get("meta")
            .and_then(|raw| serializer::parse_python_json(raw).ok())
    }

    /// The job's key.
    pub fn key(&self) -> String {
        keys::job(&self.id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_status_rq_3_writes_is_known() {
        // rq 3.0.0's JobStatus, value for value (rq/job.py).
        for text in [
            "created",
            "queued",
            "finished",
            "failed",
            "started",
            "deferred",
            "scheduled",
            "stopped",
            "canceled",
            "rate_limited",
            "ready_to_enqueue",
        ] {
            assert_eq!(JobStatus::parse(text).map(|s| s.as_str()), Some(text));
        }
        assert_eq!(JobStatus::parse("pending"), None);
    }

    use super::*;

    #[test]
    fn retry_intervals_follow_rq() {
        let retry = Retry {
            retries_left: 3,
            intervals: vec![10, 60, 300],
        };
        assert_eq!(retry.next_interval(), 10);
        assert_eq!(
            Retry {
                retries_left: 2,
                ..retry.clone()
            }
            .next_interval(),
            60
        );
        assert_eq!(
            Retry {
                retries_left: 1,
                ..retry.clone()
            }
            .next_interval(),
            300
        );
        assert_eq!(
            Retry {
                retries_left: 5,
                intervals: vec![7]
            }
            .next_interval(),
            7
        );
        assert_eq!(
            Retry {
                retries_left: 1,
                intervals: vec![]
            }
            .next_interval(),
            0
        );
    }

    #[test]
    fn reads_fields_tolerantly() {
        let mut fields = HashMap::new();
        fields.insert("status".to_string(), b"pending".to_vec());
        fields.insert("timeout".to_string(), b"10m".to_vec());
        let job = Job::from_fields("j", fields);
        assert_eq!(job.status().unwrap_err(), "unknown job status \"pending\"");
        assert!(job.timeout().unwrap_err().contains("timeout"));
        assert_eq!(job.call().unwrap_err(), "job has no 'data' field");
        assert_eq!(Job::default().timeout(), Ok(Some(180)));
    }

    #[test]
    fn new_jobs_write_what_python_rq_writes() {
        let job = NewJob::new("default", "manage.echo", vec![Value::from(1)], Map::new());
        let fields = job.fields("2026-01-01T00:00:00.000000Z");
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        for required in [
            "status",
            "created_at",
            "enqueued_at",
            "data",
            "origin",
            "description",
            "timeout",
        ] {
            assert!(names.contains(&required), "{required}");
        }
        assert!(keys::valid_job_id(&job.id));
    }
}
