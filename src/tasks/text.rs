//! Plain-text renderings for the commands: aligned tables, the `rqstats` block, the `rqjob`
//! detail. Pure functions of the data, so they are easy to test and to reuse.

use chrono::{DateTime, Utc};

use super::{
    decode::{self, age, display_time},
    deliveries::Delivery,
    detail::JobDetail,
    jobs::JobSummary,
    stats::Overview,
    webhooks::WebhookRow,
};

/// Lays out rows under headers, columns padded to their widest cell; columns whose index is in
/// `right` are right-aligned (numbers). Trailing spaces are trimmed.
pub fn table(headers: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if right.contains(&i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn or_dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}

fn time_and_age(value: Option<&str>, now: DateTime<Utc>) -> String {
    match value {
        None => "-".into(),
        Some(text) => {
            let ago = age(text, now);
            if ago.is_empty() {
                display_time(text)
            } else {
                format!("{} ({ago})", display_time(text))
            }
        }
    }
}

/// The `rqstats` block: queues with their counts and workers, then the workers.
pub fn overview(overview: &Overview, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    if overview.suspended {
        out.push_str("Workers are suspended (manage rqresume to resume).\n\n");
    }
    out.push_str(&queues_table(overview));
    out.push('\n');
    out.push_str(&workers_table(overview, now));
    let (queues, workers) = (overview.queues.len(), overview.workers.len());
    out.push_str(&format!(
        "\n{queues} {}, {workers} {}\n",
        if queues == 1 { "queue" } else { "queues" },
        if workers == 1 { "worker" } else { "workers" }
    ));
    out
}

fn queues_table(overview: &Overview) -> String {
    if overview.queues.is_empty() {
        return "No queues.\n".into();
    }
    let rows: Vec<Vec<String>> = overview
        .queues
        .iter()
        .map(|q| {
            vec![
                q.name.clone(),
                q.queued.to_string(),
                q.started.to_string(),
                q.deferred.to_string(),
                q.finished.to_string(),
                q.failed.to_string(),
                q.scheduled.to_string(),
                if q.workers.is_empty() {
                    "-".into()
                } else {
                    q.workers.join(", ")
                },
            ]
        })
        .collect();
    table(
        &[
            "QUEUE",
            "QUEUED",
            "STARTED",
            "DEFERRED",
            "FINISHED",
            "FAILED",
            "SCHEDULED",
            "WORKERS",
        ],
        &rows,
        &[1, 2, 3, 4, 5, 6],
    )
}

fn workers_table(overview: &Overview, now: DateTime<Utc>) -> String {
    if overview.workers.is_empty() {
        return "No workers.\n".into();
    }
    let rows: Vec<Vec<String>> = overview
        .workers
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                w.state.clone(),
                or_dash(w.current_job.as_deref()),
                w.successes.to_string(),
                w.failures.to_string(),
                time_and_age(w.last_heartbeat.as_deref(), now),
                w.queues.join(","),
            ]
        })
        .collect();
    table(
        &[
            "WORKER",
            "STATE",
            "CURRENT JOB",
            "SUCCESSES",
            "FAILURES",
            "LAST HEARTBEAT",
            "QUEUES",
        ],
        &rows,
        &[3, 4],
    )
}

/// The `rqjobs` table.
pub fn job_list(jobs: &[JobSummary]) -> String {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.clone(),
                j.queue.clone(),
                decode::cut(&j.status, 30),
                decode::cut(&j.function, 50),
                j.created_at
                    .as_deref()
                    .map(display_time)
                    .unwrap_or_else(|| "-".into()),
                j.ended_at
                    .as_deref()
                    .map(display_time)
                    .unwrap_or_else(|| "-".into()),
                decode::cut(j.reason.as_deref().unwrap_or("-"), 60),
            ]
        })
        .collect();
    table(
        &[
            "ID", "QUEUE", "STATUS", "FUNCTION", "CREATED", "ENDED", "REASON",
        ],
        &rows,
        &[],
    )
}

/// The `rqjob` detail: one `Label  value` line per field, long values indented below.
pub fn job_detail(job: &JobDetail, now: DateTime<Utc>) -> String {
    let mut out = job_fields(job, now);
    job_blocks(job, &mut out);
    if !job.attempts.is_empty() {
        out.push_str("Attempts:\n");
        for line in attempts(job).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A job's runs as a table: number, outcome, when, how long, status or error, the answer.
fn attempts(job: &JobDetail) -> String {
    let rows: Vec<Vec<String>> = job
        .attempts
        .iter()
        .map(|a| {
            vec![
                a.number.map_or_else(|| "-".into(), |n| n.to_string()),
                a.outcome.clone(),
                a.at.as_deref()
                    .map(display_time)
                    .unwrap_or_else(|| "-".into()),
                a.duration_ms
                    .map_or_else(|| "-".into(), |ms| format!("{ms:.1}")),
                decode::cut(a.status.as_deref().unwrap_or("-"), 60),
                decode::cut(&a.response.as_deref().unwrap_or("-").replace('\n', " "), 60),
            ]
        })
        .collect();
    table(
        &["#", "OUTCOME", "AT", "MS", "STATUS", "ANSWER"],
        &rows,
        &[0, 3],
    )
}

/// The one-line fields of a job.
fn job_fields(job: &JobDetail, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<18}{value}\n"));
    };
    line("Job", job.id.clone());
    line("Queue", or_dash(Some(&job.queue)));
    line("Status", job.status.clone());
    line("Function", job.function.clone());
    if let Some(description) = &job.description {
        line("Description", description.clone());
    }
    if let Some(webhook) = &job.webhook {
        line("Webhook", or_dash(webhook.name.as_deref()));
        line(
            "Target",
            webhook
                .target
                .clone()
                .unwrap_or_else(|| "(not in the settings)".into()),
        );
        if let Some(event) = &webhook.event_type {
            line("Event", event.clone());
        }
        if let Some(object_type) = &webhook.object_type {
            line("Object type", object_type.clone());
        }
        if let Some(rule) = &webhook.event_rule {
            line("Event rule", rule.clone());
        }
    }
    line("Created", time_and_age(job.created_at.as_deref(), now));
    line("Enqueued", time_and_age(job.enqueued_at.as_deref(), now));
    line("Started", time_and_age(job.started_at.as_deref(), now));
    line("Ended", time_and_age(job.ended_at.as_deref(), now));
    line("Worker", or_dash(job.worker_name.as_deref()));
    line(
        "Timeout",
        job.timeout
            .clone()
            .map(|t| {
                if t == "-1" {
                    "none".into()
                } else if t.parse::<i64>().is_ok() {
                    format!("{t} s")
                } else {
                    t
                }
            })
            .unwrap_or_else(|| format!("{} s (default)", crate::rq::DEFAULT_TIMEOUT)),
    );
    if let Some(ttl) = &job.result_ttl {
        line("Result TTL", format!("{ttl} s"));
    }
    line(
        "Retries left",
        match (&job.retries_left, &job.retry_intervals) {
            (Some(left), Some(intervals)) if !intervals.is_empty() => {
                format!("{left} (intervals {intervals:?} s)")
            }
            (Some(left), _) => left.to_string(),
            _ => "-".into(),
        },
    );
    out
}

/// The multi-line parts of a job: arguments, meta, result, failure, problems.
fn job_blocks(job: &JobDetail, out: &mut String) {
    let block = |out: &mut String, label: &str, text: &str| {
        out.push_str(label);
        out.push_str(":\n");
        for l in text.lines() {
            out.push_str("  ");
            out.push_str(l);
            out.push('\n');
        }
    };
    match (&job.args, &job.kwargs) {
        (Some(args), Some(kwargs)) => {
            block(out, "Arguments", &decode::pretty(args));
            block(out, "Keyword arguments", &decode::pretty(kwargs));
        }
        _ => out.push_str(&format!("{:<18}{}\n", "Arguments", job.function)),
    }
    if let Some(meta) = &job.meta {
        block(out, "Meta", &decode::pretty(meta));
    }
    if let Some(result) = &job.result {
        if let Some(value) = &result.return_value {
            block(out, "Result", &decode::pretty(value));
        } else if let Some(error) = &result.return_value_error {
            block(out, "Result", error);
        }
    }
    if let Some(failure) = &job.failure {
        block(out, "Failure", failure);
    }
    if !job.problems.is_empty() {
        block(out, "Problems", &job.problems.join("\n"));
    }
}

/// The `manage webhooks` table.
pub fn webhooks(rows: &[WebhookRow], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return "No webhooks are configured.\n".into();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                decode::cut(&w.url, 60),
                w.state.circuit.clone(),
                w.in_flight.to_string(),
                w.state.waiting.to_string(),
                decode::cut(w.state.last_status.as_deref().unwrap_or("-"), 40),
                time_and_age(w.state.last_at.as_deref(), now),
                w.state.failures.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "WEBHOOK",
            "URL",
            "CIRCUIT",
            "IN FLIGHT",
            "WAITING",
            "LAST STATUS",
            "LAST",
            "FAILURES",
        ],
        &rows,
        &[3, 4, 7],
    )
}

/// The `manage deliveries` table.
pub fn deliveries(found: &[Delivery]) -> String {
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|d| {
            vec![
                display_time(&d.time),
                d.webhook.clone(),
                d.event.clone(),
                format!("{} {}", d.object_type, d.object_id)
                    .trim()
                    .to_string(),
                decode::cut(&d.status, 50),
                format!("{:.1}", d.ms),
                d.attempt.to_string(),
                d.job.clone(),
            ]
        })
        .collect();
    table(
        &[
            "TIME", "WEBHOOK", "EVENT", "OBJECT", "STATUS", "MS", "ATTEMPT", "JOB",
        ],
        &rows,
        &[5, 6],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_text_left_and_numbers_right() {
        let text = table(
            &["NAME", "N"],
            &[
                vec!["a".into(), "10".into()],
                vec!["long".into(), "2".into()],
            ],
            &[1],
        );
        assert_eq!(text, "NAME   N\na     10\nlong   2\n");
    }
}
