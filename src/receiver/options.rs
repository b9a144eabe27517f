//! What the receiver does with each request, as chosen on the command line, and the parser for
//! `--max-body` sizes.

use std::time::Duration;

use super::signature::Verifier;

/// The receiver's settings. `Default` is NetBox's behaviour: headers shown, JSON pretty-printed,
/// every request answered `200`.
#[derive(Clone)]
pub struct ReceiverOptions {
    /// `--no-headers`: leave out the header lines (and `headers` in `--json`).
    pub no_headers: bool,
    /// `--raw`: print every body as received, even JSON.
    pub raw: bool,
    /// `--json`: one JSON object per request instead of NetBox's lines.
    pub json: bool,
    /// `--status`: the status accepted requests are answered with.
    pub status: u16,
    /// `--secret`: check `X-Hook-Signature` with this key.
    pub verifier: Option<Verifier>,
    /// `--max-body`: larger bodies are refused with 413.
    pub max_body: u64,
    /// `--read-timeout`: a connection that sends nothing for this long is closed.
    pub read_timeout: Duration,
    /// Larger request heads are refused with 431.
    pub max_head: usize,
    /// `--delay`: wait this long before answering, to play a slow endpoint.
    pub delay: Duration,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        Self {
            no_headers: false,
            raw: false,
            json: false,
            status: 200,
            verifier: None,
            max_body: 10 * 1024 * 1024,
            read_timeout: Duration::from_secs(30),
            max_head: 64 * 1024,
            delay: Duration::ZERO,
        }
    }
}

/// Parses a byte size: plain bytes (`1048576`) or a number with a unit, case-insensitive:
/// `B`, `KB`/`MB`/`GB` (powers of 1000), `K`/`KiB`, `M`/`MiB`, `G`/`GiB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a size such as 1048576, 512KiB or 10MiB, found {text:?}"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "k" | "kib" => 1 << 10,
        "mb" => 1000 * 1000,
        "m" | "mib" => 1 << 20,
        "gb" => 1000 * 1000 * 1000,
        "g" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use B, KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1048576));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("512 kib"), Ok(512 * 1024));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }
}
