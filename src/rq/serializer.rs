//! RQ's JSON serializer on the wire: `data` is zlib(JSON `[func, null, args, kwargs]`), results
//! are base64(JSON), tracebacks base64(zlib(text)). Reads are tolerant of what Python writes.

use base64::Engine;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde_json::{Map, Value};

use crate::python;

/// Why a job's `data` cannot be run. The text becomes the job's failure reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Python's default (pickle) serializer wrote it.
    #[error("job data is pickled (Python RQ's default serializer); manage reads RQ's JSON serializer only: enqueue with serializer=JSONSerializer")]
    Pickled,
    /// Not JSON at all, or truncated.
    #[error("job data is not valid JSON: {0}")]
    NotJson(String),
    /// JSON, but not `[func_name, null, args, kwargs]`.
    #[error("job data is not RQ's [func_name, instance, args, kwargs] array: {0}")]
    Shape(String),
}

/// The call a job describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Dotted function name, e.g. `extras.webhooks.send_webhook`.
    pub func_name: String,
    /// Positional arguments.
    pub args: Vec<Value>,
    /// Keyword arguments.
    pub kwargs: Map<String, Value>,
}

/// Encodes a call as RQ's JSON serializer and zlib do.
pub fn encode_data(call: &Call) -> Vec<u8> {
    let json = serde_json::to_vec(&(&call.func_name, Value::Null, &call.args, &call.kwargs))
        .expect("JSON values serialize");
    compress(&json)
}

/// The zlib level `data` is written with. Python RQ writes level 6; every level reads back the
/// same everywhere, and level 1 costs a fraction of 6 for job-sized payloads while a webhook
/// job comes out only a few bytes larger (BENCHMARKS.md).
const LEVEL: u32 = 1;

thread_local! {
    /// One compressor per thread, reset between uses: a fresh one allocates and clears a few
    /// hundred kilobytes of tables, which costs more than compressing a small job.
    static COMPRESSOR: std::cell::RefCell<Compress> =
        std::cell::RefCell::new(Compress::new(Compression::new(LEVEL), true));
    /// One decompressor per thread, reset between uses, for the same reason.
    static DECOMPRESSOR: std::cell::RefCell<Decompress> =
        std::cell::RefCell::new(Decompress::new(true));
}

/// zlib at [`LEVEL`], readable by Python's `zlib.decompress`.
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
        loop {
            let consumed = compressor.total_in() as usize;
            let status = compressor
                .compress_vec(&bytes[consumed..], &mut out, FlushCompress::Finish)
                .expect("compressing into a Vec cannot fail");
            if status == Status::StreamEnd {
                return out;
            }
            out.reserve(out.capacity().max(64));
        }
    })
}

/// The most a `data` field may inflate to: a bound on what a hostile job can make a worker hold.
const MAX_INFLATED: usize = 64 * 1024 * 1024;

/// Inflates a whole zlib stream; `None` when it is not one (or inflates beyond the bound).
fn inflate(bytes: &[u8]) -> Option<Vec<u8>> {
    DECOMPRESSOR.with_borrow_mut(|decompressor| {
        decompressor.reset(true);
        let mut out = Vec::with_capacity((bytes.len() * 4).min(MAX_INFLATED));
        loop {
            let consumed = decompressor.total_in() as usize;
            let before = decompressor.total_out();
            let status = decompressor
                .decompress_vec(&bytes[consumed..], &mut out, FlushDecompress::Finish)
                .ok()?;
            match status {
                Status::StreamEnd => return Some(out),
                _ if out.len() >= MAX_INFLATED => return None,
                // No progress with room to spare: the input is truncated.
                _ if decompressor.total_out() == before
                    && decompressor.total_in() as usize == consumed
                    && out.len() < out.capacity() =>
                {
                    return None
                }
                _ => out.reserve(out.capacity().clamp(256, MAX_INFLATED)),
            }
        }
    })
}

/// zlib-decompresses, falling back to the raw bytes as RQ does for uncompressed data.
pub fn decompress_or_raw(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if bytes.len() >= 2 && bytes[0] == 0x78 {
        if let Some(out) = inflate(bytes) {
            return out.into();
        }
    }
    bytes.into()
}

/// Whether `data` is pickle (its first byte, once inflated, is pickle's protocol marker), read
/// from that byte alone: a worker asks it of every job it takes, and inflating and parsing the
/// whole of each twice would double the decoding cost of the hot path.
pub fn is_pickled(raw: &[u8]) -> bool {
    if raw.len() >= 2 && raw[0] == 0x78 {
        let mut first = [0u8; 1];
        let mut decompressor = Decompress::new(true);
        if decompressor
            .decompress(raw, &mut first, FlushDecompress::None)
            .is_ok()
            && decompressor.total_out() == 1
        {
            return first[0] == 0x80;
        }
    }
    raw.first() == Some(&0x80)
}

/// Decodes `data` into a call, tolerating uncompressed JSON and Python's `NaN`/`Infinity`.
pub fn decode_data(raw: &[u8]) -> Result<Call, DecodeError> {
    let bytes = decompress_or_raw(raw);
    if bytes.first() == Some(&0x80) {
        return Err(DecodeError::Pickled);
    }
    let value = parse_python_json(&bytes)?;
    let Value::Array(mut items) = value else {
        return Err(DecodeError::Shape("not an array".into()));
    };
    if items.len() != 4 {
        return Err(DecodeError::Shape(format!(
            "{} elements instead of 4",
            items.len()
        )));
    }
    let kwargs = match items.pop() {
        Some(Value::Object(map)) => map,
        Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(DecodeError::Shape(format!(
                "kwargs is {other} instead of an object"
            )))
        }
        None => unreachable!(),
    };
    let args = match items.pop() {
        Some(Value::Array(args)) => args,
        Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(DecodeError::Shape(format!(
                "args is {other} instead of an array"
            )))
        }
        None => unreachable!(),
    };
    let _instance = items.pop();
    let func_name = match items.pop() {
        Some(Value::String(name)) if !name.is_empty() => name,
        other => {
            return Err(DecodeError::Shape(format!(
                "function name is {} instead of a string",
                other.unwrap_or(Value::Null)
            )))
        }
    };
    Ok(Call {
        func_name,
        args,
        kwargs,
    })
}

/// Parses JSON as Python's `json.loads` does, which also accepts `NaN`, `Infinity` and
/// `-Infinity`. Those become `null`: serde_json has no non-finite numbers.
pub fn parse_python_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(first_error) => {
            let text =
                std::str::from_utf8(bytes).map_err(|_| DecodeError::NotJson("not UTF-8".into()))?;
            let replaced = replace_non_finite(text);
            if replaced.len() == text.len() && replaced == text {
                return Err(DecodeError::NotJson(first_error.to_string()));
            }
            serde_json::from_str(&replaced).map_err(|e| DecodeError::NotJson(e.to_string()))
        }
    }
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` (outside strings) with `null`.
fn replace_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(token) = token {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A return value as RQ's results stream stores it: base64 of its JSON.
pub fn encode_result(value: &Value) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(value).expect("JSON values serialize"))
}

/// Reads a stored return value back.
pub fn decode_result(b64: &[u8]) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    parse_python_json(&bytes).ok()
}

/// A failure text as the results stream stores it: base64(zlib(text)).
pub fn encode_exc(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(compress(text.as_bytes()))
}

/// Reads a stored failure text back.
pub fn decode_exc(b64: &[u8]) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some(String::from_utf8_lossy(&decompress_or_raw(&bytes)).into_owned())
}

/// RQ's description of a call, `func(1, 'a', key=True)`, with Python's `repr` of each argument
/// (`crate::python::json_repr`), cut at `limit` bytes so that a large payload is not stored twice.
pub fn call_string(call: &Call, limit: usize) -> String {
    let mut out = String::with_capacity(64);
    out.push_str(&call.func_name);
    out.push('(');
    let mut first = true;
    for arg in &call.args {
        if !first {
            out.push_str(", ");
        }
        first = false;
        python::json_repr(arg, &mut out);
        if out.len() > limit {
            break;
        }
    }
    for (key, value) in &call.kwargs {
        if out.len() > limit {
            break;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str(key);
        out.push('=');
        python::json_repr(value, &mut out);
    }
    if out.len() > limit {
        let mut cut = limit;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("…)");
    } else {
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_bytes_python_rq_wrote() {
        let raw = hex::decode("789c8b562a492cce2ed64b4c4951d251c82bcdc9d1518836d251308ed551a8562a4e4ecc4955b2523034a88d050017190c81").unwrap();
        let call = decode_data(&raw).unwrap();
        assert_eq!(call.func_name, "tasks.add");
        assert_eq!(call.args, vec![json!(2), json!(3)]);
        assert_eq!(call.kwargs.get("scale"), Some(&json!(10)));
    }

    #[test]
    fn round_trips_and_tolerates_what_python_accepts() {
        let call = Call {
            func_name: "manage.echo".into(),
            args: vec![json!("é")],
            kwargs: json!({"k": [1, 2]}).as_object().unwrap().clone(),
        };
        assert_eq!(decode_data(&encode_data(&call)).unwrap(), call);
        let raw = br#"["manage.echo", null, [1.5, NaN, "NaN", -Infinity], {}]"#;
        assert_eq!(
            decode_data(raw).unwrap().args,
            vec![json!(1.5), Value::Null, json!("NaN"), Value::Null]
        );
    }

    #[test]
    fn large_payloads_round_trip_through_the_reused_compressors() {
        // Varied text compresses poorly, so inflating takes several rounds of growing the buffer.
        let text: String = (0..40_000u64)
            .map(|i| format!("{:x}", i.wrapping_mul(2_654_435_761)))
            .collect();
        let call = Call {
            func_name: "manage.echo".into(),
            args: vec![json!(text)],
            kwargs: Map::new(),
        };
        let encoded = encode_data(&call);
        assert_eq!(&encoded[..1], &[0x78], "a zlib header");
        // Twice on the same thread: a reset compressor gives the same bytes as a fresh one.
        assert_eq!(encode_data(&call), encoded);
        assert_eq!(decode_data(&encoded).unwrap(), call);
        let small = Call {
            func_name: "f".into(),
            args: vec![],
            kwargs: Map::new(),
        };
        assert_eq!(decode_data(&encode_data(&small)).unwrap(), small);
    }

    #[test]
    fn is_pickled_agrees_with_decode_data() {
        let json = encode_data(&Call {
            func_name: "manage.echo".into(),
            args: vec![Value::from(1)],
            kwargs: Map::new(),
        });
        let pickle: &[u8] = &[0x80, 0x05, 0x95, 0x10, 0x00];
        for raw in [
            json.as_slice(),
            &compress(pickle),
            pickle,
            br#"["f", null, [], {}]"#,
            b"",
            b"\x78",
        ] {
            assert_eq!(
                is_pickled(raw),
                decode_data(raw) == Err(DecodeError::Pickled),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_data_with_a_reason() {
        assert_eq!(decode_data(&[0x80, 0x05, 0x95]), Err(DecodeError::Pickled));
        assert!(matches!(
            decode_data(b"garbage"),
            Err(DecodeError::NotJson(_))
        ));
        let truncated = &encode_data(&Call {
            func_name: "f".into(),
            args: vec![],
            kwargs: Map::new(),
        })[..6];
        assert!(decode_data(truncated).is_err());
        assert!(matches!(
            decode_data(br#"["f", null, []]"#),
            Err(DecodeError::Shape(_))
        ));
        assert!(matches!(
            decode_data(br#"[1, null, [], {}]"#),
            Err(DecodeError::Shape(_))
        ));
    }

    #[test]
    fn results_and_tracebacks_use_rq_encodings() {
        assert_eq!(encode_result(&json!(50)), "NTA=");
        assert_eq!(decode_result(b"Mg=="), Some(json!(2)));
        assert_eq!(
            decode_exc(encode_exc("boom").as_bytes()).as_deref(),
            Some("boom")
        );
    }

    #[test]
    fn call_strings_look_like_python() {
        let call = Call {
            func_name: "tasks.add".into(),
            args: vec![json!(2), json!("x")],
            kwargs: json!({"scale": true, "n": null})
                .as_object()
                .unwrap()
                .clone(),
        };
        assert_eq!(
            call_string(&call, 200),
            "tasks.add(2, 'x', scale=True, n=None)"
        );
        assert!(call_string(&call, 12).ends_with("…)"));
    }
}
