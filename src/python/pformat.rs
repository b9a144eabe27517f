//! `pprint.pformat(value)` with its defaults (width 80, indent 1, dicts sorted), as Jinja2's
//! `pprint` filter prints: a port of CPython 3.11's `PrettyPrinter._format` for the types a
//! template holds (dicts, lists, tuples, text, numbers).

use minijinja::value::{Value, ValueKind};

use super::{repr, str_repr, DictView, Tuple};

const WIDTH: usize = 80;

/// `pprint.pformat(value)`.
pub fn pformat(value: &Value) -> String {
    let mut out = String::new();
    format(value, &mut out, 0, 0, 0);
    out
}

/// The Python type that decides how a value is pretty-printed.
enum Shape<'v> {
    Dict,
    List,
    Tuple(&'v Tuple),
    Str(&'v str),
    /// Printed with its `repr`, never wrapped: numbers, `None`, `Markup`, dict views.
    Other,
}

fn shape(value: &Value) -> Shape<'_> {
    match value.kind() {
        ValueKind::Map => Shape::Dict,
        ValueKind::String if !value.is_safe() => Shape::Str(value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            if let Some(tuple) = value.downcast_object_ref::<Tuple>() {
                Shape::Tuple(tuple)
            } else if value.downcast_object_ref::<DictView>().is_some() {
                Shape::Other
            } else {
                Shape::List
            }
        }
        _ => Shape::Other,
    }
}

/// `_safe_repr`: `repr` with every dict's keys sorted.
fn safe_repr(value: &Value, out: &mut String) {
    match shape(value) {
        Shape::Dict => {
            out.push('{');
            for (i, (key, item)) in sorted_items(value).iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                safe_repr(key, out);
                out.push_str(": ");
                safe_repr(item, out);
            }
            out.push('}');
        }
        Shape::List => {
            out.push('[');
            for (i, item) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                safe_repr(&item, out);
            }
            out.push(']');
        }
        Shape::Tuple(tuple) => {
            out.push('(');
            for (i, item) in tuple.items().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                safe_repr(item, out);
            }
            if tuple.items().len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Shape::Str(_) | Shape::Other => repr(value, out),
    }
}

fn safe_repr_string(value: &Value) -> String {
    let mut out = String::new();
    safe_repr(value, &mut out);
    out
}

/// A dict's items in `sorted(…, key=_safe_tuple)` order: text keys by code point, numbers by
/// value, other kinds after them by kind.
fn sorted_items(value: &Value) -> Vec<(Value, Value)> {
    let mut items: Vec<(Value, Value)> = value
        .try_iter()
        .into_iter()
        .flatten()
        .map(|key| {
            let item = value.get_item(&key).unwrap_or_default();
            (key, item)
        })
        .collect();
    items.sort_by(|(a, _), (b, _)| match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => a.cmp(b),
        _ => a.cmp(b),
    });
    items
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// `PrettyPrinter._format`.
fn format(value: &Value, out: &mut String, indent: usize, allowance: usize, level: usize) {
    let rep = safe_repr_string(value);
    let max_width = WIDTH as isize - indent as isize - allowance as isize;
    if chars(&rep) as isize <= max_width {
        out.push_str(&rep);
        return;
    }
    let level = level + 1;
    match shape(value) {
        Shape::Dict => {
            out.push('{');
            let items = sorted_items(value);
            if !items.is_empty() {
                format_dict_items(&items, out, indent, allowance + 1, level);
            }
            out.push('}');
        }
        Shape::List => {
            out.push('[');
            let items: Vec<Value> = value.try_iter().into_iter().flatten().collect();
            format_items(&items, out, indent, allowance + 1, level);
            out.push(']');
        }
        Shape::Tuple(tuple) => {
            out.push('(');
            let end = if tuple.items().len() == 1 { ",)" } else { ")" };
            format_items(tuple.items(), out, indent, allowance + end.len(), level);
            out.push_str(end);
        }
        Shape::Str(text) => format_str(text, out, indent, allowance, level),
        Shape::Other => out.push_str(&rep),
    }
}

/// `PrettyPrinter._format_dict_items`.
fn format_dict_items(
    items: &[(Value, Value)],
    out: &mut String,
    indent: usize,
    allowance: usize,
    level: usize,
) {
    let indent = indent + 1;
    let last_index = items.len() - 1;
    for (i, (key, item)) in items.iter().enumerate() {
        let last = i == last_index;
        let rep = safe_repr_string(key);
        out.push_str(&rep);
        out.push_str(": ");
        let allowance = if last { allowance } else { 1 };
        format(item, out, indent + chars(&rep) + 2, allowance, level);
        if !last {
            out.push_str(",\n");
            out.extend(std::iter::repeat_n(' ', indent));
        }
    }
}

/// `PrettyPrinter._format_items` (not compact).
fn format_items(items: &[Value], out: &mut String, indent: usize, allowance: usize, level: usize) {
    let indent = indent + 1;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
            out.extend(std::iter::repeat_n(' ', indent));
        }
        let last = i + 1 == items.len();
        format(item, out, indent, if last { allowance } else { 1 }, level);
    }
}

/// Python's `str.isspace()`.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.splitlines(keepends=True)`.
fn split_lines_keep(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((at, c)) = iter.next() {
        let end = match c {
            '\r' if iter.peek().map(|(_, n)| *n) == Some('\n') => {
                iter.next();
                at + 2
            }
            '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}'
            | '\u{2028}' | '\u{2029}' => at + c.len_utf8(),
            _ => continue,
        };
        lines.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// `re.findall(r'\S*\s*', line)` without the empty match at the end.
fn words_with_spaces(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (at, c) in line.char_indices() {
        let space = is_space(c);
        if !space && in_space {
            parts.push(&line[start..at]);
            start = at;
        }
        in_space = space;
    }
    if start < line.len() {
        parts.push(&line[start..]);
    }
    parts
}

fn str_repr_string(text: &str) -> String {
    let mut out = String::new();
    str_repr(text, &mut out);
    out
}

/// `PrettyPrinter._pprint_str`: long text as adjacent literals, split after whitespace.
fn format_str(text: &str, out: &mut String, indent: usize, allowance: usize, level: usize) {
    if text.is_empty() {
        out.push_str(&str_repr_string(text));
        return;
    }
    let (indent, allowance) = if level == 1 {
        (indent + 1, allowance + 1)
    } else {
        (indent, allowance)
    };
    let max_width = WIDTH as isize - indent as isize;
    let mut max_width1 = max_width;
    let lines = split_lines_keep(text);
    let mut chunks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let rep = str_repr_string(line);
        let last_line = i == lines.len() - 1;
        if last_line {
            max_width1 -= allowance as isize;
        }
        if chars(&rep) as isize <= max_width1 {
            chunks.push(rep);
            continue;
        }
        let parts = words_with_spaces(line);
        let mut max_width2 = max_width;
        let mut current = String::new();
        for (j, part) in parts.iter().enumerate() {
            let candidate = format!("{current}{part}");
            if j == parts.len() - 1 && last_line {
                max_width2 -= allowance as isize;
            }
            if chars(&str_repr_string(&candidate)) as isize > max_width2 {
                if !current.is_empty() {
                    chunks.push(str_repr_string(&current));
                }
                current = part.to_string();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            chunks.push(str_repr_string(&current));
        }
    }
    if chunks.len() == 1 {
        out.push_str(&chunks[0]);
        return;
    }
    if level == 1 {
        out.push('(');
    }
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', indent));
        }
        out.push_str(chunk);
    }
    if level == 1 {
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_values_are_their_sorted_repr() {
        let value = Value::from_serialize(json!({"b": 1, "a": [1.5, null, "x"]}));
        assert_eq!(pformat(&value), "{'a': [1.5, None, 'x'], 'b': 1}");
    }

    #[test]
    fn long_values_wrap_as_pprint_does() {
        // python3 -c "import pprint; print(pprint.pformat({'name': 'x' * 30, 'tags': ['alpha', 'beta', 'gamma' * 10], 'n': None}))"
        let value = Value::from_serialize(
            json!({"name": "x".repeat(30), "tags": ["alpha", "beta", "gamma".repeat(10)], "n": null}),
        );
        assert_eq!(
            pformat(&value),
            "{'n': None,\n 'name': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',\n 'tags': ['alpha',\n          'beta',\n          'gammagammagammagammagammagammagammagammagammagamma']}"
        );
    }
}
