//! Layered loading and the errors that name the file, the key and what was expected.

use std::path::{Path, PathBuf};

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};

use super::Settings;

/// The file the process reads when `--config` and `MANAGE_CONFIG` are not given.
pub const DEFAULT_CONFIG_FILE: &str = "manage.toml";

/// What the command line adds on top of the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH` (or `MANAGE_CONFIG`): must exist when given.
    pub config_path: Option<PathBuf>,
    /// `--set section.key=value` and shorthand flags such as `--redis-url`, applied last.
    pub overrides: Vec<(String, String)>,
}

/// Where the settings came from, for `check` and `diffsettings`.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The TOML file that was read, if any.
    pub file: Option<PathBuf>,
}

/// A configuration that cannot be used. Each problem names where it came from, the key, and
/// what was expected, so `check` can list them all.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ConfigError {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl ConfigError {
    /// A single problem.
    pub fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

impl Settings {
    /// Loads the settings in layers: defaults < file < environment < flags.
    pub fn load(options: &LoadOptions) -> Result<(Settings, ConfigSource), ConfigError> {
        let file = match &options.config_path {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::one(format!(
                    "{}: configuration file not found",
                    path.display()
                )))
            }
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(environment());
        for (key, value) in &options.overrides {
            figment = figment.merge(Serialized::default(key, parse_override(value)));
        }
        let settings: Settings = figment
            .extract()
            .map_err(|e| describe(e, file.as_deref()))?;
        let problems = settings.problems();
        if !problems.is_empty() {
            let origin = file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "settings".into());
            return Err(ConfigError {
                problems: problems
                    .into_iter()
                    .map(|p| format!("{origin}: {p}"))
                    .collect(),
            });
        }
        Ok((settings, ConfigSource { file }))
    }

    /// Checks values that parse but cannot work; each line names the key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = crate::redis_url::RedisTarget::parse(&self.redis.url) {
            problems.push(format!("key 'redis.url': {e}"));
        }
        if !self.http.proxy.is_empty() && url::Url::parse(&self.http.proxy).is_err() {
            problems.push(format!(
                "key 'http.proxy': expected a URL such as http://proxy:3128, found {:?}",
                self.http.proxy
            ));
        }
        for (key, value) in [
            ("http.timeout", self.http.timeout),
            ("http.connect_timeout", self.http.connect_timeout),
            ("redis.connect_timeout", self.redis.connect_timeout),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                problems.push(format!(
                    "key '{key}': expected a positive number of seconds, found {value}"
                ));
            }
        }
        if self.worker.concurrency == 0 {
            problems.push(
                "key 'worker.concurrency': expected a whole number of at least 1, found 0".into(),
            );
        }
        if self.worker.queues.is_empty() {
            problems.push("key 'worker.queues': expected at least one queue name".into());
        }
        problems
    }
}

/// `MANAGE_<SECTION>__<KEY>`, plus `MANAGE_REDIS_URL` as the short form of `[redis] url`.
/// `MANAGE_CONFIG` names the file and is not a setting.
fn environment() -> Env {
    Env::prefixed("MANAGE_")
        .filter(|key| key.as_str().contains("__") || key.as_str() == "redis_url")
        .map(|key| {
            if key.as_str() == "redis_url" {
                "redis.url".into()
            } else {
                key.as_str().replace("__", ".").into()
            }
        })
        .lowercase(true)
        .global()
}

/// Reads a flag's value as TOML when it is one (numbers, booleans, arrays), else as a string.
fn parse_override(value: &str) -> figment::value::Value {
    let wrapped = format!("v = {value}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(table) => figment::value::Value::serialize(&table["v"]).unwrap_or_else(|_| value.into()),
        Err(_) => value.into(),
    }
}

/// Turns figment's errors into lines that name the source, the key and the expectation.
fn describe(error: figment::Error, file: Option<&Path>) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|e| {
            let origin = match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
                Some(figment::Source::File(path)) => path.display().to_string(),
                Some(_) | None => match e.metadata.as_ref().map(|m| m.name.to_string()) {
                    Some(name) if name.contains("environment") => "environment".to_string(),
                    Some(name) if name.contains("Serialized") || name.contains("default") => {
                        "command line".to_string()
                    }
                    Some(name) => name,
                    None => file
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "settings".into()),
                },
            };
            let key = e
                .path
                .iter()
                .filter(|part| part.as_str() != "default")
                .cloned()
                .collect::<Vec<_>>()
                .join(".");
            let env_hint = match e.metadata.as_ref().and_then(|m| {
                m.interpolate(&e.profile.clone().unwrap_or_default(), &e.path)
                    .into()
            }) {
                Some(var) if origin == "environment" => {
                    format!(" (variable {})", var.to_uppercase())
                }
                _ => String::new(),
            };
            if key.is_empty() {
                format!("{origin}{env_hint}: {}", e.kind)
            } else {
                format!("{origin}{env_hint}: key '{key}': {}", e.kind)
            }
        })
        .collect();
    ConfigError { problems }
}
