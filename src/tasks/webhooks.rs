//! Every configured webhook and how it is doing: its target (redacted), circuit,
//! deliveries in flight, jobs waiting for its limits, last status and failures in a row. What
//! `manage webhooks` prints and the page's Webhooks view shows.

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::TaskResult;
use crate::{
    config::Settings,
    pipeline::limits::{self, State},
    webhooks::WebhookConfig,
};

/// One webhook's row.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookRow {
    /// Its name.
    pub name: String,
    /// Where it sends (a template as written), user name and password removed.
    pub url: String,
    /// Its limits as configured.
    pub limits: Limits,
    /// Deliveries in flight now, across workers.
    pub in_flight: u64,
    /// Its state in Redis: circuit, waiting jobs, last status, failures in a row.
    #[serde(flatten)]
    pub state: State,
}

/// A webhook's limits as configured (0: none).
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// `max_in_flight`.
    pub max_in_flight: u32,
    /// `rate_limit`, requests a second.
    pub rate_limit: f64,
    /// `breaker_failures`.
    pub breaker_failures: u32,
    /// `breaker_open`, seconds.
    pub breaker_open: u64,
}

impl Limits {
    fn of(webhook: &WebhookConfig) -> Self {
        Self {
            max_in_flight: webhook.max_in_flight,
            rate_limit: webhook.rate_limit,
            breaker_failures: webhook.breaker_failures,
            breaker_open: webhook.breaker_open,
        }
    }
}

/// Every configured webhook, in the settings' order, in two round trips.
pub async fn all<C: ConnectionLike>(
    conn: &mut C,
    settings: &Settings,
) -> TaskResult<Vec<WebhookRow>> {
    let names: Vec<&str> = settings.webhooks.iter().map(|w| w.name.as_str()).collect();
    let states = limits::states(conn, &names).await?;
    let running = limits::in_flight(conn).await?;
    Ok(settings
        .webhooks
        .iter()
        .zip(states)
        .map(|(webhook, state)| WebhookRow {
            name: webhook.name.clone(),
            url: webhook.shown_url(),
            limits: Limits::of(webhook),
            in_flight: if webhook.max_in_flight > 0 {
                state.leases
            } else {
                running.get(&webhook.name).copied().unwrap_or(0)
            },
            state,
        })
        .collect())
}
