//! Opening Redis clients from `[redis] url`, directly or through Sentinel.

use std::time::Duration;

use crate::redis_url::RedisTarget;

/// A client for the configured server. For Sentinel, the sentinels are asked for the current
/// master each time, so calling this again after a failover finds the new one.
pub async fn client_for(url: &str, timeout: Duration) -> anyhow::Result<redis::Client> {
    match RedisTarget::parse(url).map_err(anyhow::Error::msg)? {
        RedisTarget::Direct(url) => Ok(redis::Client::open(url)?),
        RedisTarget::Sentinel {
            sentinels,
            master,
            db,
            password,
        } => {
            let master_addr = ask_sentinels(&sentinels, &master, timeout).await?;
            let auth = password
                .map(|p| {
                    format!(
                        ":{}@",
                        url::form_urlencoded::byte_serialize(p.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            Ok(redis::Client::open(format!(
                "redis://{auth}{master_addr}/{db}"
            ))?)
        }
    }
}

/// Asks each sentinel in turn for the master's address (`SENTINEL get-master-addr-by-name`).
async fn ask_sentinels(
    sentinels: &[String],
    master: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let mut last_error = None;
    for sentinel in sentinels {
        let attempt = async {
            let client = redis::Client::open(format!("redis://{sentinel}"))?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(master)
                .query_async(&mut conn)
                .await?;
            anyhow::Ok(addr)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(Some((host, port)))) => return Ok(format!("{host}:{port}")),
            Ok(Ok(None)) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} does not know master {master:?}"
                ))
            }
            Ok(Err(e)) => last_error = Some(e.context(format!("sentinel {sentinel}"))),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "sentinel {sentinel} did not answer in {timeout:?}"
                ))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no sentinel given")))
}
