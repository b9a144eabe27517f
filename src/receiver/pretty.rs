//! Pretty-prints a JSON body the way NetBox's receiver does (`json.dumps(obj, indent=4)`), but by
//! re-indenting the text rather than re-encoding a parsed value, so what is shown is what was
//! sent: key order, duplicate keys, number spellings (`1E5`, integers beyond 64 bits) and string
//! escapes are kept. Only whitespace changes. One visible difference from Python: non-ASCII text
//! sent as-is is printed as-is, where Python's default `ensure_ascii=True` would print `\u00e9`.

/// The indent of one nesting level, as `indent=4`.
const INDENT: &str = "    ";

/// `text` re-indented with four spaces per level and `": "` after keys, or `None` when it is not
/// valid JSON (the caller then prints it as received).
pub fn reindent(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&text[i..end]);
                i = end;
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let next = skip_whitespace(bytes, i + 1);
                out.push(open as char);
                if bytes[next] == close {
                    out.push(close as char);
                    i = next + 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                    i += 1;
                }
            }
            close @ (b'}' | b']') => {
                depth -= 1;
                newline(&mut out, depth);
                out.push(close as char);
                i += 1;
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
                i += 1;
            }
            b':' => {
                out.push_str(": ");
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            _ => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .map_or(bytes.len(), |len| i + len);
                out.push_str(&text[i..end]);
                i = end;
            }
        }
    }
    Some(out)
}

/// The index just past the closing quote of the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The index of the first non-whitespace byte at or after `i`.
fn skip_whitespace(bytes: &[u8], i: usize) -> usize {
    i + bytes[i..]
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(bytes.len() - i)
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

#[cfg(test)]
mod tests {
    use super::reindent;

    #[test]
    fn matches_python_json_dumps_indent_4() {
        // python3 -c 'import json; print(json.dumps(json.loads(s), indent=4))'
        let sent = r#"{"event": "created", "data": {"id": 4, "tags": [], "meta": {}, "ok": true,
            "list": [1, 2.5, null, {"x": "a\"b\\c"}]}, "z" : -1}"#;
        let expected = r#"{
    "event": "created",
    "data": {
        "id": 4,
        "tags": [],
        "meta": {},
        "ok": true,
        "list": [
            1,
            2.5,
            null,
            {
                "x": "a\"b\\c"
            }
        ]
    },
    "z": -1
}"#;
        assert_eq!(reindent(sent).as_deref(), Some(expected));
    }

    #[test]
    fn scalars_and_empty_containers() {
        assert_eq!(reindent(" 42 ").as_deref(), Some("42"));
        assert_eq!(reindent(r#""a, b""#).as_deref(), Some(r#""a, b""#));
        assert_eq!(reindent("[ ]").as_deref(), Some("[]"));
        assert_eq!(
            reindent("[[ ],{ }]").as_deref(),
            Some("[\n    [],\n    {}\n]")
        );
    }

    #[test]
    fn keeps_what_was_sent() {
        assert_eq!(
            reindent(r#"{"b":1,"a":123456789012345678901234567890,"b":1E5,"s":"\u00e9é"}"#)
                .as_deref(),
            Some(
                "{\n    \"b\": 1,\n    \"a\": 123456789012345678901234567890,\n    \"b\": 1E5,\n    \"s\": \"\\u00e9é\"\n}"
            )
        );
    }

    #[test]
    fn invalid_json_is_refused() {
        assert_eq!(reindent(r#"{"a": }"#), None);
        assert_eq!(reindent("NaN"), None);
        assert_eq!(reindent(""), None);
        assert_eq!(reindent("{} {}"), None);
    }
}
