//! Jobs in RQ's Redis layout, as a user checks them: enqueued with `manage rqenqueue`, their
//! status and registries read from Redis, and their results and failure reasons read back by
//! Python RQ itself (`rq.results.Result`), so a wrong encoding on our side cannot go unnoticed.

use std::collections::HashMap;

use redis::Commands;

use super::{manage_on, python_with, stderr, stdout, RedisServer};

/// `manage rqenqueue <args>`; returns the job id it printed.
pub fn enqueue(redis: &RedisServer, args: &[&str]) -> String {
    let mut full = vec!["rqenqueue"];
    full.extend_from_slice(args);
    let out = manage_on(redis, &full);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

/// The job's `status` field ("" when the job hash is gone).
pub fn status(redis: &RedisServer, id: &str) -> String {
    redis
        .conn()
        .hget::<_, _, Option<String>>(format!("rq:job:{id}"), "status")
        .unwrap()
        .unwrap_or_default()
}

/// Whether the job is in `queue`'s registry `registry` (`failed`, `finished`, `wip`, …).
pub fn in_registry(redis: &RedisServer, registry: &str, queue: &str, id: &str) -> bool {
    redis
        .conn()
        .zscore::<_, _, Option<f64>>(format!("rq:{registry}:{queue}"), id)
        .unwrap()
        .is_some()
}

/// Whether the job is in `rq:failed:default`.
pub fn in_failed(redis: &RedisServer, id: &str) -> bool {
    in_registry(redis, "failed", "default", id)
}

/// A job's latest result as Python RQ reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PyResult {
    /// `successful`, `failed`, `stopped`, `retried`.
    pub kind: String,
    /// The failure reason (`Result.exc_string`), for failures.
    pub exc_string: Option<String>,
    /// The return value (`Result.return_value`), for successes.
    pub return_value: serde_json::Value,
}

/// The latest result of each job, read by Python RQ 2.12 with the JSON serializer (`None` for a
/// job without one).
pub fn latest_results(redis: &RedisServer, ids: &[&str]) -> HashMap<String, Option<PyResult>> {
    latest_results_at(&redis.url(), ids)
}

/// [`latest_results`] for the Redis at `url`.
pub fn latest_results_at(url: &str, ids: &[&str]) -> HashMap<String, Option<PyResult>> {
    const CODE: &str = "
import json, os, sys
from redis import Redis
from rq.results import Result
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
out = {}
for job_id in json.load(sys.stdin):
    entries = r.xrevrange('rq:results:' + job_id, '+', '-', count=1)
    if not entries:
        out[job_id] = None
        continue
    result_id, payload = entries[0]
    result = Result.restore(job_id, result_id.decode(), payload, connection=r, serializer=JSONSerializer)
    out[job_id] = {'kind': result.type.name.lower(), 'exc_string': result.exc_string,
                   'return_value': result.return_value}
print(json.dumps(out))
";
    let input = serde_json::to_vec(ids).unwrap();
    let printed = python_with(url, CODE, &[], &input);
    let parsed: HashMap<String, Option<serde_json::Value>> =
        serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{e}: {printed}"));
    parsed
        .into_iter()
        .map(|(id, result)| {
            let result = result.map(|r| PyResult {
                kind: r["kind"].as_str().unwrap().to_string(),
                exc_string: r["exc_string"].as_str().map(str::to_string),
                return_value: r["return_value"].clone(),
            });
            (id, result)
        })
        .collect()
}

/// The failure reasons of the jobs' latest results, as Python RQ shows them, in `ids`' order.
pub fn reasons(redis: &RedisServer, ids: &[&str]) -> Vec<String> {
    let results = latest_results(redis, ids);
    ids.iter()
        .map(|id| {
            results[*id]
                .as_ref()
                .and_then(|r| r.exc_string.clone())
                .unwrap_or_else(|| panic!("job {id} has no failure result: {:?}", results[*id]))
        })
        .collect()
}

/// The failure reason of the job's latest result, as Python RQ shows it.
pub fn last_reason(redis: &RedisServer, id: &str) -> String {
    reasons(redis, &[id]).remove(0)
}

/// zlib-compressed bytes, as RQ stores job data.
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A job's `data` field as RQ's JSON serializer writes it: zlib of `[func, null, args, kwargs]`.
pub fn job_data(func: &str, args: serde_json::Value, kwargs: serde_json::Value) -> Vec<u8> {
    zlib(&serde_json::to_vec(&serde_json::json!([func, null, args, kwargs])).unwrap())
}

/// A job's call as Python RQ reads it (`Job.fetch(…, serializer=JSONSerializer)`).
#[derive(Debug, Clone, PartialEq)]
pub struct PyCall {
    /// `job.func_name`.
    pub func_name: String,
    /// `job.args`.
    pub args: serde_json::Value,
    /// `job.kwargs`, in the order Python reads them.
    pub kwargs: serde_json::Map<String, serde_json::Value>,
}

/// The call of each job, decoded by Python RQ, in `ids`' order.
pub fn calls(redis: &RedisServer, ids: &[&str]) -> Vec<PyCall> {
    const CODE: &str = "
import json, os, sys
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
r = Redis.from_url(os.environ['REDIS_URL'])
jobs = Job.fetch_many(json.load(sys.stdin), connection=r, serializer=JSONSerializer)
print(json.dumps([[job.func_name, list(job.args), job.kwargs] for job in jobs]))
";
    let printed = python_with(&redis.url(), CODE, &[], &serde_json::to_vec(ids).unwrap());
    let parsed: Vec<(
        String,
        serde_json::Value,
        serde_json::Map<String, serde_json::Value>,
    )> = serde_json::from_str(&printed).unwrap_or_else(|e| panic!("{e}: {printed}"));
    parsed
        .into_iter()
        .map(|(func_name, args, kwargs)| PyCall {
            func_name,
            args,
            kwargs,
        })
        .collect()
}
