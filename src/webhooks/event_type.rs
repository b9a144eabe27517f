//! The event types NetBox registers, their short forms, and the public `event` name a webhook
//! receives for each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The event types NetBox registers in `core/apps.py`. Plugins can register more there; we accept
/// only these, so a typo in a rule or an event is reported instead of never matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `object_created` (short form `created`).
    ObjectCreated,
    /// `object_updated` (short form `updated`).
    ObjectUpdated,
    /// `object_deleted` (short form `deleted`).
    ObjectDeleted,
    /// `job_started`: a background job began.
    JobStarted,
    /// `job_completed`: NetBox matches rules on this one for every finished job, whatever its status.
    JobCompleted,
    /// `job_failed`: registered by NetBox but never used for rule matching there.
    JobFailed,
    /// `job_errored`: registered by NetBox but never used for rule matching there.
    JobErrored,
}

impl EventType {
    /// Every accepted type, in NetBox's registration order (for messages and help).
    pub const ALL: [EventType; 7] = [
        EventType::ObjectCreated,
        EventType::ObjectUpdated,
        EventType::ObjectDeleted,
        EventType::JobStarted,
        EventType::JobCompleted,
        EventType::JobFailed,
        EventType::JobErrored,
    ];

    /// The long name NetBox stores on rules and in jobs, e.g. `object_created`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ObjectCreated => "object_created",
            EventType::ObjectUpdated => "object_updated",
            EventType::ObjectDeleted => "object_deleted",
            EventType::JobStarted => "job_started",
            EventType::JobCompleted => "job_completed",
            EventType::JobFailed => "job_failed",
            EventType::JobErrored => "job_errored",
        }
    }

    /// The `event` value a webhook receives, per NetBox's `WEBHOOK_EVENT_TYPES`.
    pub fn webhook_event(self) -> &'static str {
        webhook_event(self.as_str())
    }

    /// Reads a long name or the short forms `created`, `updated`, `deleted`.
    pub fn parse(name: &str) -> Option<EventType> {
        let long = normalize_event_type(name);
        EventType::ALL.into_iter().find(|t| t.as_str() == long)
    }
}

/// Maps the short forms `created`/`updated`/`deleted` to `object_*` and leaves anything else as
/// it is, so config and event input can use either spelling.
pub fn normalize_event_type(name: &str) -> &str {
    match name {
        "created" => "object_created",
        "updated" => "object_updated",
        "deleted" => "object_deleted",
        other => other,
    }
}

/// NetBox's `WEBHOOK_EVENT_TYPES`: the public `event` name for a stored event type. Every job end
/// is `job_ended`; unknown (plugin) types pass through unchanged, as in NetBox. It takes a string
/// because a job read back from Redis may carry a type this build does not know.
pub fn webhook_event(event_type: &str) -> &str {
    match event_type {
        "object_created" => "created",
        "object_updated" => "updated",
        "object_deleted" => "deleted",
        "job_started" => "job_started",
        "job_completed" | "job_failed" | "job_errored" => "job_ended",
        other => other,
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::parse(s).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            format!(
                "unknown event type {s:?}, expected one of {} (or created, updated, deleted)",
                known.join(", ")
            )
        })
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_accept_both_spellings() {
        assert_eq!(EventType::parse("created"), Some(EventType::ObjectCreated));
        assert_eq!(
            EventType::parse("object_deleted"),
            Some(EventType::ObjectDeleted)
        );
        assert_eq!(EventType::parse("job_failed"), Some(EventType::JobFailed));
        assert_eq!(EventType::parse("job_ended"), None);
        assert!("bogus"
            .parse::<EventType>()
            .unwrap_err()
            .contains("unknown event type \"bogus\""));
    }

    #[test]
    fn webhook_event_names_follow_netbox() {
        assert_eq!(EventType::ObjectUpdated.webhook_event(), "updated");
        assert_eq!(EventType::JobStarted.webhook_event(), "job_started");
        assert_eq!(EventType::JobCompleted.webhook_event(), "job_ended");
        assert_eq!(EventType::JobErrored.webhook_event(), "job_ended");
        assert_eq!(webhook_event("plugin_thing"), "plugin_thing");
    }
}
