//! Checks on values that parse but cannot work, each naming its key.

use std::path::Path;

use super::{Problem, Settings};

impl Settings {
    /// Every problem in the settings; empty means usable.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        self.connection_problems(&mut problems);
        self.worker_problems(&mut problems);
        self.webhook_problems(&mut problems);
        self.listener_problems(&mut problems);
        self.retention_problems(&mut problems);
        problems
    }

    /// How `manage` reaches Redis and the webhooks' servers: checked first, as nothing else
    /// works without them.
    fn connection_problems(&self, problems: &mut Vec<Problem>) {
        if let Err(e) = crate::redis_url::RedisTarget::parse(&self.redis.url) {
            problems.push(Problem::new("redis.url", e));
        }
        self.redis_tls_problems(problems);
        if !self.http.proxy.is_empty() && url::Url::parse(&self.http.proxy).is_err() {
            problems.push(Problem::new(
                "http.proxy",
                format!(
                    "expected a URL such as http://proxy:3128, found {:?}",
                    crate::redact::url(&self.http.proxy)
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
            ("gateway.header_timeout", self.gateway.header_timeout),
            ("gateway.body_timeout", self.gateway.body_timeout),
            ("ui.header_timeout", self.ui.header_timeout),
            ("ui.body_timeout", self.ui.body_timeout),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                problems.push(Problem::new(
                    key,
                    format!("expected a positive number of seconds, found {value}"),
                ));
            }
        }
    }

    /// `[worker]`: values a worker would accept at start and then misbehave with (no queue to
    /// listen to, nothing running at once, a TTL Redis would reject).
    fn worker_problems(&self, problems: &mut Vec<Problem>) {
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
    }

    /// `[[webhooks]]` and `[[event_rules]]`, each problem filed under the section whose entry
    /// it names so `check` points at the right table.
    fn webhook_problems(&self, problems: &mut Vec<Problem>) {
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
    }

    /// The addresses the servers listen on and the tokens that guard them: caught here, a bad
    /// one fails `check` instead of a server at start, and a short token is never accepted.
    fn listener_problems(&self, problems: &mut Vec<Problem>) {
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
        for (key, value) in [
            ("gateway.max_connections", self.gateway.max_connections),
            (
                "gateway.netbox_max_concurrent",
                self.gateway.netbox_max_concurrent,
            ),
            ("ui.max_connections", self.ui.max_connections),
        ] {
            if value == 0 || value > 1_000_000 {
                problems.push(Problem::new(
                    key,
                    format!("expected a whole number from 1 to 1000000, found {value}"),
                ));
            }
        }
        if self.gateway.netbox_max_body.bytes() == 0 {
            problems.push(Problem::new(
                "gateway.netbox_max_body",
                "expected a size of at least 1 byte, such as 1MiB",
            ));
        }
        if !self.ui.token.is_empty() && self.ui.token.chars().count() < 16 {
            problems.push(Problem::new(
                "ui.token",
                "expected at least 16 characters (or empty, to generate one at start)",
            ));
        }
    }

    /// `[history]` limits, where a zero would silently keep nothing (turning history off is
    /// `enabled = false`), and the UI's refresh interval, which has an upper bound.
    fn retention_problems(&self, problems: &mut Vec<Problem>) {
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
    }

    /// `[redis] ca_file`, `client_cert` and `client_key`: readable PEM of the right kind, a
    /// certificate with its key, and a TLS URL to use them with (files given for a plain URL
    /// are refused rather than ignored: whoever set them expects TLS).
    fn redis_tls_problems(&self, problems: &mut Vec<Problem>) {
        use crate::redis_conn::{read_ca_file, read_client_certificate, read_private_key};
        let redis = &self.redis;
        type Read = fn(&Path) -> Result<Vec<u8>, String>;
        let files: [(&str, &str, Read); 3] = [
            ("redis.ca_file", &redis.ca_file, read_ca_file),
            (
                "redis.client_cert",
                &redis.client_cert,
                read_client_certificate,
            ),
            ("redis.client_key", &redis.client_key, read_private_key),
        ];
        let given: Vec<_> = files
            .iter()
            .filter(|(_, path, _)| !path.is_empty())
            .collect();
        for (key, path, read) in &given {
            if let Err(e) = read(Path::new(path)) {
                problems.push(Problem::new(*key, e));
            }
        }
        match (redis.client_cert.is_empty(), redis.client_key.is_empty()) {
            (false, true) => problems.push(Problem::new(
                "redis.client_cert",
                "is given without client_key: a client certificate is sent with its private key, set both",
            )),
            (true, false) => problems.push(Problem::new(
                "redis.client_key",
                "is given without client_cert: a private key is sent with its certificate, set both",
            )),
            _ => {}
        }
        let plain = crate::redis_url::RedisTarget::parse(&redis.url).is_ok_and(|t| !t.uses_tls());
        if plain {
            for (key, _, _) in &given {
                problems.push(Problem::new(
                    *key,
                    format!(
                        "is for TLS, but [redis] url {} does not use TLS: use rediss:// (or rediss+sentinel://), or remove this key",
                        crate::redis_conn::display(&redis.url)
                    ),
                ));
            }
        }
    }
}
