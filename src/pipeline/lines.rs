//! Many events as JSON lines (one event object a line, blank lines skipped), as
//! `manage enqueue_event --lines` reads them: parsed on every core, with the first bad line
//! named, so that a bad batch is refused whole.

use std::io::BufRead as _;

use crate::webhooks::{event, Event};

/// The first line of the input that is not an event, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// All of `input` as text, refusing at once a line longer than `max_line` bytes (its number
/// and the limit named) instead of buffering it: one runaway line must not take the memory that
/// thousands of events fit in. Bytes that are not UTF-8 are an error naming their line too.
pub fn read_limited(input: impl std::io::BufRead, max_line: u64) -> Result<String, LineError> {
    let mut input = input;
    let mut bytes = Vec::new();
    let mut line = 0usize;
    loop {
        let start = bytes.len();
        line = line.saturating_add(1);
        // One byte over the limit is enough to tell a line is too long.
        let read = std::io::Read::take(&mut input, max_line.saturating_add(1))
            .read_until(b'\n', &mut bytes)
            .map_err(|e| LineError {
                line,
                message: format!("cannot read: {e}"),
            })?;
        if read == 0 {
            break;
        }
        let content = bytes[start..]
            .strip_suffix(b"\n")
            .unwrap_or(&bytes[start..]);
        if content.len() as u64 > max_line {
            return Err(LineError {
                line,
                message: format!("longer than the limit of {max_line} bytes (--max-line)"),
            });
        }
    }
    utf8(bytes)
}

/// The input as text; bytes that are not UTF-8 are an error naming their line.
pub fn utf8(bytes: Vec<u8>) -> Result<String, LineError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        LineError {
            line: valid.iter().filter(|b| **b == b'\n').count() + 1,
            message: "not valid UTF-8".into(),
        }
    })
}

/// Parses one event a line, the text split at line ends into one part per core and the parts
/// parsed at once (parsing was a quarter of a bulk enqueue's time). The error is the first bad
/// line's, as if the text had been read from the top. Blocks: call it off the async runtime.
pub fn parse(text: &str) -> Result<Vec<Event>, LineError> {
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let chunks = split(text, parts);
    let parsed: Vec<Result<Vec<Event>, LineError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .iter()
            .map(|&(first_line, chunk)| scope.spawn(move || parse_chunk(first_line, chunk)))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("parsing events does not panic"))
            .collect()
    });
    let mut events = Vec::new();
    for chunk in parsed {
        events.extend(chunk?);
    }
    Ok(events)
}

/// `text` cut at line ends into at most `parts` pieces of about equal size, each with the
/// number of its first line.
fn split(text: &str, parts: usize) -> Vec<(usize, &str)> {
    let mut chunks = Vec::with_capacity(parts);
    let (mut start, mut first_line) = (0, 1);
    for part in 1..=parts {
        let target = (text.len() * part / parts).max(start);
        let end = if part == parts {
            text.len()
        } else {
            match text.as_bytes()[target..].iter().position(|&b| b == b'\n') {
                Some(newline) => target + newline + 1,
                None => text.len(),
            }
        };
        if end > start {
            let chunk = &text[start..end];
            chunks.push((first_line, chunk));
            first_line += chunk.bytes().filter(|&b| b == b'\n').count();
            start = end;
        }
    }
    chunks
}

/// The events of `chunk`, whose first line is line number `first_line` of the input.
fn parse_chunk(first_line: usize, chunk: &str) -> Result<Vec<Event>, LineError> {
    let mut events = Vec::new();
    for (offset, line) in chunk.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = event::parse_json(line.as_bytes()).map_err(|message| LineError {
            line: first_line + offset,
            message,
        })?;
        events.push(event);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(count: usize, bad: Option<usize>) -> String {
        (1..=count)
            .map(|n| match n {
                _ if Some(n) == bad => "{\"object_type\": \n".to_string(),
                _ if n % 10 == 0 => "   \r\n".to_string(),
                _ => format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {n}}}}}\r\n"),
            })
            .collect()
    }

    #[test]
    fn parallel_parsing_keeps_the_order_of_the_lines() {
        let events = parse(&lines(1001, None)).unwrap();
        let ids: Vec<u64> = events
            .iter()
            .map(|e| e.data["id"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (1..=1001).filter(|n| n % 10 != 0).collect();
        assert_eq!(ids, expected);
        assert!(parse("").unwrap().is_empty());
        assert_eq!(
            parse("\n\n{\"object_type\": \"x\", \"event\": \"created\", \"data\": {}}")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn the_first_bad_line_is_named_wherever_it_falls() {
        for bad in [1, 499, 500, 501, 777, 1001] {
            let error = parse(&lines(1001, Some(bad))).unwrap_err();
            assert_eq!(error.line, bad, "{error}");
            assert!(error.to_string().starts_with(&format!("line {bad}: ")));
        }
        for parts in 1..=8 {
            let text = lines(50, Some(37));
            let error = split(&text, parts)
                .into_iter()
                .find_map(|(first, chunk)| parse_chunk(first, chunk).err())
                .unwrap();
            assert_eq!(error.line, 37, "{parts} parts");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_named_without_being_read_whole() {
        let mut input = b"{}\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend(b"\n{}\n");
        assert_eq!(
            read_limited(&input[..], 99).unwrap_err(),
            LineError {
                line: 2,
                message: "longer than the limit of 99 bytes (--max-line)".into()
            }
        );
        assert_eq!(read_limited(&input[..], 100).unwrap().len(), input.len());
        // The last line needs no newline, and is held to the same limit.
        assert!(read_limited(&b"{}\nabcd"[..], 4).is_ok());
        assert_eq!(read_limited(&b"{}\nabcde"[..], 4).unwrap_err().line, 2);
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let error = utf8(b"{}\n{}\n\xff\n".to_vec()).unwrap_err();
        assert_eq!(error.to_string(), "line 3: not valid UTF-8");
    }
}
