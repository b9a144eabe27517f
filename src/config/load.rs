//! Layered loading and the errors that name the file, the key and what was expected.

use std::path::{Path, PathBuf};

use figment::{
    providers::{Env, Format, Serialized, Toml},
    value::{Dict, Map, Value},
    Figment, Metadata, Profile, Provider,
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

impl From<ConfigError> for crate::error::CommandError {
    fn from(error: ConfigError) -> Self {
        Self::from_error(error)
    }
}

impl ConfigError {
    /// A single problem.
    pub fn one(problem: impl Into<String>) -> Self {
        Self {
            problems: vec![problem.into()],
        }
    }
}

/// A value that parses but cannot work: which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `redis.url`, or the section of a list entry (`webhooks`).
    pub key: String,
    /// What was expected and what was found.
    pub message: String,
    /// Whether `message` already names the entry and key (list entries do).
    pub names_itself: bool,
}

impl Problem {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            names_itself: false,
        }
    }

    /// A problem with an entry of a list section, whose message names the entry and the key.
    pub fn entry(section: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: section.into(),
            message: message.into(),
            names_itself: true,
        }
    }

    fn describe(&self, origin: &str) -> String {
        if self.names_itself {
            format!("{origin}: {}", self.message)
        } else {
            format!("{origin}: key '{}': {}", self.key, self.message)
        }
    }
}

/// Settings that parsed, with the semantic problems found in them, each already prefixed with
/// where its value came from. Commands refuse to run with problems; `check` lists them.
#[derive(Debug)]
pub struct Loaded {
    /// The settings.
    pub settings: Settings,
    /// Where they came from.
    pub source: ConfigSource,
    /// `"<origin>: key '<key>': <message>"` lines.
    pub problems: Vec<String>,
}

impl Settings {
    /// Loads the settings in layers (defaults < file < environment < flags) and refuses any
    /// that have problems.
    pub fn load(options: &LoadOptions) -> Result<(Settings, ConfigSource), ConfigError> {
        let loaded = Self::load_unchecked(options)?;
        if loaded.problems.is_empty() {
            Ok((loaded.settings, loaded.source))
        } else {
            Err(ConfigError {
                problems: loaded.problems,
            })
        }
    }

    /// Loads the settings in layers; only errors that stop parsing are errors here.
    pub fn load_unchecked(options: &LoadOptions) -> Result<Loaded, ConfigError> {
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
            if let Some(problem) = syntax_error(path) {
                return Err(ConfigError::one(problem));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(environment()).merge(TextEnvironment);
        for (key, value) in &options.overrides {
            figment = figment.merge(Serialized::global(key, parse_override(value)));
        }
        let settings: Settings = figment
            .extract()
            .map_err(|e| describe(e, file.as_deref()))?;
        let problems = settings
            .problems()
            .into_iter()
            .map(|p| p.describe(&origin_of(&figment, &p.key, file.as_deref())))
            .collect();
        Ok(Loaded {
            settings,
            source: ConfigSource { file },
            problems,
        })
    }
}

/// `MANAGE_<SECTION>__<KEY>`, plus `MANAGE_REDIS_URL` as the short form of `[redis] url`.
/// `MANAGE_CONFIG` names the file and is not a setting.
fn environment() -> Env {
    Env::prefixed("MANAGE_")
        .filter(|key| {
            (key.as_str().contains("__") || key.as_str().eq_ignore_ascii_case("redis_url"))
                && text_key(key.as_str()).is_none()
        })
        .map(|key| {
            if key.as_str().eq_ignore_ascii_case("redis_url") {
                "redis.url".into()
            } else {
                key.as_str().replace("__", ".").into()
            }
        })
        .lowercase(true)
        .global()
}

/// Settings that are text whatever they look like: figment's `Env` reads `0090` as the number 90
/// and a token of digits as a number, so these are read verbatim by [`TextEnvironment`].
const TEXT_KEYS: &[&str] = &[
    "redis.url",
    "redis.ca_file",
    "redis.client_cert",
    "redis.client_key",
    "http.user_agent",
    "http.proxy",
    "worker.metrics_bind",
    "gateway.bind",
    "gateway.token",
    "gateway.netbox_secret",
    "ui.token",
    "ui.bind",
];

/// The text key an environment variable (without `MANAGE_`) sets, if it sets one.
fn text_key(var: &str) -> Option<&'static str> {
    let key = if var.eq_ignore_ascii_case("redis_url") {
        "redis.url".to_string()
    } else {
        var.to_ascii_lowercase().replace("__", ".")
    };
    TEXT_KEYS.iter().copied().find(|k| *k == key)
}

/// The `MANAGE_*` variables of [`TEXT_KEYS`], as written.
struct TextEnvironment;

impl Provider for TextEnvironment {
    fn metadata(&self) -> Metadata {
        // "environment" in the name is how errors name the variable (see `describe_origin`).
        Metadata::named("environment variable(s)")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut sections = Dict::new();
        for (var, value) in std::env::vars() {
            let Some(key) = var.strip_prefix("MANAGE_").and_then(text_key) else {
                continue;
            };
            let (section, name) = key.split_once('.').expect("text keys are section.key");
            let entry = sections
                .entry(section.to_string())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, dict) = entry {
                dict.insert(name.to_string(), Value::from(value));
            }
        }
        Ok(Profile::Global.collect(sections))
    }
}

/// Reads a flag's value as TOML when it is one (numbers, booleans, arrays), else as a string.
fn parse_override(value: &str) -> figment::value::Value {
    match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(table) => figment::value::Value::serialize(&table["v"]).unwrap_or_else(|_| value.into()),
        Err(_) => value.into(),
    }
}

/// Names the layer a key's value came from: the file, the environment variable, or the command line.
fn origin_of(figment: &Figment, key: &str, file: Option<&Path>) -> String {
    let top = key.split(['[', '.']).next().unwrap_or(key);
    let metadata = figment
        .find_metadata(key)
        .or_else(|| figment.find_metadata(top));
    describe_origin(metadata, key, file)
}

fn describe_origin(metadata: Option<&figment::Metadata>, key: &str, file: Option<&Path>) -> String {
    match metadata {
        Some(m) => match &m.source {
            Some(figment::Source::File(path)) => path.display().to_string(),
            _ if m.name.contains("environment") => {
                let var = key.to_uppercase().replace('.', "__");
                format!("environment variable MANAGE_{var}")
            }
            _ if m.name.ends_with("Settings") => "defaults".to_string(),
            _ => "command line".to_string(),
        },
        None => file
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "settings".into()),
    }
}

/// Turns figment's errors into lines that name the source, the key and the expectation.
fn describe(error: figment::Error, file: Option<&Path>) -> ConfigError {
    let problems = error
        .into_iter()
        .map(|e| {
            let key = e
                .path
                .iter()
                .filter(|part| part.as_str() != "default")
                .cloned()
                .collect::<Vec<_>>()
                .join(".");
            let origin = describe_origin(e.metadata.as_ref(), &key, file);
            let name = key.rsplit(['.', '[']).next().unwrap_or_default();
            let kind = if crate::redact::is_sensitive_name(name) {
                without_value(&e.kind)
            } else {
                e.kind.to_string()
            };
            if key.is_empty() {
                format!("{origin}: {kind}")
            } else {
                format!("{origin}: key '{key}': {kind}")
            }
        })
        .collect();
    ConfigError { problems }
}

/// What is wrong with a secret's value, without the value (figment's text quotes what it found).
fn without_value(kind: &figment::error::Kind) -> String {
    use figment::error::{Actual, Kind};
    let found = |actual: &Actual| match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) | Actual::Str(_) => "a string",
        Actual::Seq => "an array",
        Actual::Map => "a table",
        _ => "another kind of value",
    };
    match kind {
        Kind::InvalidType(actual, expected) => {
            format!("invalid type: found {}, expected {expected}", found(actual))
        }
        Kind::InvalidValue(actual, expected) => {
            format!(
                "invalid value: found {}, expected {expected}",
                found(actual)
            )
        }
        Kind::Message(_) => "invalid value (not shown: the key holds a secret)".into(),
        other => other.to_string(),
    }
}

/// A TOML syntax error in `path` by file, line, column and key, without the source line that
/// the TOML parser quotes (it may hold a secret, and the error may go to the journal). `None`
/// when the file parses, or cannot be read (figment then says why).
fn syntax_error(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let error = toml::from_str::<toml::Table>(&text).err()?;
    let at = error.span().map_or(0, |span| span.start).min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let message = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let place = format!("{}: line {line}, column {column}", path.display());
    match key_at(&text, line_start) {
        Some(key) => Some(format!("{place}: key '{key}': {message}")),
        None => Some(format!("{place}: {message}")),
    }
}

/// The dotted key of the `key = value` line starting at `line_start`, with the table it is in
/// (`webhooks.secret`), or the table header's name when that line is one.
fn key_at(text: &str, line_start: usize) -> Option<String> {
    let line = text[line_start..].lines().next().unwrap_or_default().trim();
    // Only bare keys are named: a line inside a multi-line string is not a key, and its text
    // (`Authorization: Bearer a=b`) must not be shown as one.
    let bare = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c))
    };
    let table = |header: &str| {
        let name = header.trim_start_matches('[').split(']').next()?.trim();
        bare(name).then(|| name.to_string())
    };
    if line.starts_with('[') {
        return table(line);
    }
    let key = line.split_once('=')?.0.trim();
    if !bare(key) {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('['))
        .and_then(table);
    Some(match section {
        Some(section) if !section.is_empty() => format!("{section}.{key}"),
        _ => key.to_string(),
    })
}
