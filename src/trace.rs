//! W3C trace context (`traceparent`): a delivery carries the trace of the change that caused
//! it, so a receiver (and the worker's log) can tie the two together.

use std::fmt;

/// A `traceparent`: version `00`, a trace id, a parent (span) id and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: u128,
    span_id: u64,
    flags: u8,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>` (lowercase hex, ids not all zeros), as the W3C
    /// Trace Context recommendation requires; any other version is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fail = || {
            format!(
                "expected a W3C traceparent such as 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, found {text:?}"
            )
        };
        let parts: Vec<&str> = text.trim().split('-').collect();
        let [version, trace, span, flags] = parts[..] else {
            return Err(fail());
        };
        fn hex(s: &str, len: usize) -> Option<&str> {
            (s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then_some(s)
        }
        let (Some(_), Some(trace), Some(span), Some(flags)) = (
            hex(version, 2).filter(|v| *v == "00"),
            hex(trace, 32),
            hex(span, 16),
            hex(flags, 2),
        ) else {
            return Err(fail());
        };
        let parsed = Self {
            trace_id: u128::from_str_radix(trace, 16).map_err(|_| fail())?,
            span_id: u64::from_str_radix(span, 16).map_err(|_| fail())?,
            flags: u8::from_str_radix(flags, 16).map_err(|_| fail())?,
        };
        if parsed.trace_id == 0 || parsed.span_id == 0 {
            return Err(fail());
        }
        Ok(parsed)
    }

    /// A new trace (sampled), for a change that came without one.
    pub fn new_root() -> Self {
        Self {
            trace_id: nonzero_u128(),
            span_id: nonzero_u64(),
            flags: 1,
        }
    }

    /// The same trace with a new span: what a delivery sends.
    pub fn child(self) -> Self {
        Self {
            span_id: nonzero_u64(),
            ..self
        }
    }

    /// The trace id, 32 lowercase hex digits (what log lines show).
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

fn nonzero_u128() -> u128 {
    loop {
        let n = uuid::Uuid::new_v4().as_u128();
        if n != 0 {
            return n;
        }
    }
}

fn nonzero_u64() -> u64 {
    loop {
        let n = (uuid::Uuid::new_v4().as_u128() >> 64) as u64;
        if n != 0 {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_w3c_traceparents() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent = TraceParent::parse(text).unwrap();
        assert_eq!(parent.to_string(), text);
        assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = parent.child();
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.to_string(), text);
        assert!(TraceParent::parse(&child.to_string()).is_ok());
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_err(), "{bad}");
        }
        let root = TraceParent::new_root();
        assert_eq!(TraceParent::parse(&root.to_string()), Ok(root));
    }
}
