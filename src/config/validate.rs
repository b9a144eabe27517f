//! Checks on values that parse but cannot work, each naming its key.

use super::{Problem, Settings};

impl Settings {
    /// Every problem in the settings; empty means usable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Err(e) = crate::redis_url::RedisTarget::parse(&self.redis.url) {
            problems.push(Problem::new("redis.url", e));
        }
        if !self.http.proxy.is_empty() && url::Url::parse(&self.http.proxy).is_err() {
            problems.push(Problem::new(
                "http.proxy",
                format!(
                    "expected a URL such as http://proxy:3128, found {:?}",
                    self.http.proxy
                ),
            ));
        }
        if let Err(e) = self.http.policy() {
            problems.push(Problem::new("http.allow", e));
        }
        for (key, value) in [
            ("http.timeout", self.http.timeout),
            ("http.connect_timeout", self.http.connect_timeout),
            ("redis.connect_timeout", self.redis.connect_timeout),
            ("redis.reply_timeout", self.redis.reply_timeout),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                problems.push(Problem::new(
                    key,
                    format!("expected a positive number of seconds, found {value}"),
                ));
            }
        }
        if self.worker.concurrency == 0 {
            problems.push(Problem::new(
                "worker.concurrency",
                "expected a whole number of at least 1, found 0",
            ));
        }
        for (key, value) in [
            ("worker.failure_ttl", self.worker.failure_ttl),
            ("worker.result_ttl", self.worker.result_ttl),
        ] {
            if value < -1 {
                problems.push(Problem::new(
                    key,
                    format!("expected seconds (0 or more), or -1 to keep forever, found {value}"),
                ));
            }
        }
        if self.worker.queues.is_empty() {
            problems.push(Problem::new(
                "worker.queues",
                "expected at least one queue name",
            ));
        }
        for problem in crate::webhooks::validate(
            &self.webhooks,
            &self.event_rules,
            crate::webhooks::JOB_TIMEOUT_SECS,
        ) {
            let section = if problem.starts_with("event_rules") {
                "event_rules"
            } else {
                "webhooks"
            };
            problems.push(Problem::entry(section, problem));
        }
        if !self.worker.metrics_bind.is_empty() {
            if let Err(e) = super::listen_address(&self.worker.metrics_bind) {
                problems.push(Problem::new("worker.metrics_bind", e));
            }
        }
        if let Err(e) = super::listen_address(&self.gateway.bind) {
            problems.push(Problem::new("gateway.bind", e));
        }
        if !self.gateway.token.is_empty() && self.gateway.token.chars().count() < 16 {
            problems.push(Problem::new(
                "gateway.token",
                "expected at least 16 characters (or empty, to turn POST /events off)",
            ));
        }
        if self.ui.bind.parse::<std::net::SocketAddr>().is_err() {
            problems.push(Problem::new(
                "ui.bind",
                format!(
                    "expected an address and port such as 127.0.0.1:8000, found {:?}",
                    self.ui.bind
                ),
            ));
        }
        if !self.ui.token.is_empty() && self.ui.token.chars().count() < 16 {
            problems.push(Problem::new(
                "ui.token",
                "expected at least 16 characters (or empty, to generate one at start)",
            ));
        }
        for (key, value) in [
            ("history.max_per_webhook", self.history.max_per_webhook),
            ("history.days", self.history.days),
        ] {
            if value == 0 {
                problems.push(Problem::new(
                    key,
                    "expected a whole number of at least 1, found 0 (set [history] enabled = false to keep nothing)",
                ));
            }
        }
        if self.ui.refresh > 3600 {
            problems.push(Problem::new(
                "ui.refresh",
                format!(
                    "expected 0 (off) to 3600 seconds, found {}",
                    self.ui.refresh
                ),
            ));
        }
        problems
    }
}
