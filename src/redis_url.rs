//! Redis addresses: plain, TLS, or through Sentinel (plain or TLS), and how to show them without
//! the password (as [`crate::redact`] shows every URL).

use std::fmt;

/// A parsed `[redis] url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// `redis://` or `rediss://` straight to one server.
    Direct(String),
    /// `redis+sentinel://[:password@]host1:port1,host2:port2/<master_name>[/db]`: ask the sentinels
    /// which server is the master, and ask again after a failover. `rediss+sentinel://` is the
    /// same over TLS: to the sentinels and to the master they name.
    Sentinel {
        /// Whether the sentinels and the master speak TLS (`rediss+sentinel://`).
        tls: bool,
        /// `host:port` of every sentinel.
        sentinels: Vec<String>,
        /// The monitored master's name.
        master: String,
        /// Database number on the master.
        db: i64,
        /// Password for the master (not the sentinels).
        password: Option<String>,
    },
}

impl RedisTarget {
    /// Parses and validates a URL, explaining what was expected when it is not usable.
    pub fn parse(url: &str) -> Result<Self, String> {
        let sentinel = [("redis+sentinel://", false), ("rediss+sentinel://", true)]
            .into_iter()
            .find_map(|(scheme, tls)| url.strip_prefix(scheme).map(|rest| (scheme, rest, tls)));
        if let Some((scheme, rest, tls)) = sentinel {
            let expected = || format!("expected {scheme}host:port[,host:port…]/<master name>[/db]");
            let (auth, rest) = match rest.rsplit_once('@') {
                Some((auth, rest)) => (Some(auth), rest),
                None => (None, rest),
            };
            let password = auth
                .map(|a| a.split_once(':').map(|(_, p)| p).unwrap_or(a).to_string())
                .filter(|p| !p.is_empty());
            let (hosts, path) = rest.split_once('/').ok_or_else(expected)?;
            let sentinels: Vec<String> = hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(|h| {
                    if h.contains(':') {
                        h.to_string()
                    } else {
                        format!("{h}:26379")
                    }
                })
                .collect();
            let mut parts = path.split('/');
            let master = parts.next().unwrap_or_default().to_string();
            let db = match parts.next() {
                Some(db) if !db.is_empty() => db.parse().map_err(|_| {
                    format!("expected a database number after the master name, found {db:?}")
                })?,
                _ => 0,
            };
            if sentinels.is_empty() || master.is_empty() {
                return Err(expected());
            }
            return Ok(Self::Sentinel {
                tls,
                sentinels,
                master,
                db,
                password,
            });
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            format!(
                "expected a URL such as redis://127.0.0.1:6379/0, found {:?} ({e})",
                crate::redact::url(url)
            )
        })?;
        match parsed.scheme() {
            "redis" | "rediss" | "unix" | "redis+unix" => {}
            other => {
                return Err(format!(
                "expected a redis://, rediss://, redis+sentinel:// or rediss+sentinel:// URL, found scheme {other:?}"
            ))
            }
        }
        redis::Client::open(url).map_err(|e| format!("not a usable Redis URL: {e}"))?;
        Ok(Self::Direct(url.to_string()))
    }

    /// Whether connections to this address use TLS (`rediss://`, `rediss+sentinel://`).
    pub fn uses_tls(&self) -> bool {
        match self {
            Self::Direct(url) => url::Url::parse(url).is_ok_and(|u| u.scheme() == "rediss"),
            Self::Sentinel { tls, .. } => *tls,
        }
    }
}

impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct(url) => f.write_str(&crate::redact::url(url)),
            Self::Sentinel {
                tls,
                sentinels,
                master,
                db,
                password,
            } => {
                let scheme = if *tls { "rediss" } else { "redis" };
                let auth = if password.is_some() { "***@" } else { "" };
                write!(
                    f,
                    "{scheme}+sentinel://{auth}{}/{master}/{db}",
                    sentinels.join(",")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_no_password_whichever_slot_holds_it() {
        for url in [
            "redis://:hunter2@db:6379/0",
            "redis://user:hunter2@db:6379/0",
            "redis://hunter2@db:6379/0",
        ] {
            let shown = RedisTarget::parse(url).unwrap().to_string();
            assert_eq!(shown, "redis://***@db:6379/0");
        }
        let unparsable = RedisTarget::parse("redis://hunter2@db:port/0").unwrap_err();
        assert!(!unparsable.contains("hunter2"), "{unparsable}");
    }

    #[test]
    fn parses_sentinel_lists() {
        let target = RedisTarget::parse("redis+sentinel://:pw@s1:26379,s2/mymaster/2").unwrap();
        assert_eq!(
            target,
            RedisTarget::Sentinel {
                tls: false,
                sentinels: vec!["s1:26379".into(), "s2:26379".into()],
                master: "mymaster".into(),
                db: 2,
                password: Some("pw".into())
            }
        );
        assert_eq!(
            target.to_string(),
            "redis+sentinel://***@s1:26379,s2:26379/mymaster/2"
        );
    }

    #[test]
    fn rediss_sentinel_is_sentinel_over_tls() {
        let target = RedisTarget::parse("rediss+sentinel://s1:26380/mymaster").unwrap();
        assert!(target.uses_tls());
        assert_eq!(target.to_string(), "rediss+sentinel://s1:26380/mymaster/0");
        assert!(!RedisTarget::parse("redis+sentinel://s1/m")
            .unwrap()
            .uses_tls());
        assert!(RedisTarget::parse("rediss://db:6380/0").unwrap().uses_tls());
        assert!(!RedisTarget::parse("redis://db:6379/0").unwrap().uses_tls());
    }

    #[test]
    fn refuses_other_schemes() {
        assert!(RedisTarget::parse("http://x")
            .unwrap_err()
            .contains("scheme"));
        assert!(RedisTarget::parse("not a url").is_err());
    }
}
