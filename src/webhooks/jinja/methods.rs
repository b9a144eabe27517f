//! Python's methods on the values a template holds, as Jinja2 exposes them
//! (`data.get('x', '')`, `data.custom_fields.items()`, `name.startswith('A')`, `s.split(',')`),
//! and Python's arithmetic for the operators [`super::check`] rewrites (`%`, `/`, `//`, `**`).
//! [`METHODS`] lists every method offered; a template calling any other is refused at load.

use std::cmp::Ordering;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::{bind, fail};
use crate::python::{self, DictViewKind, PercentArgs, Tuple};

/// Every method name offered, on some type. Calls of other names are refused at load.
pub(super) const METHODS: &[&str] = &[
    // str
    "capitalize",
    "casefold",
    "center",
    "count",
    "endswith",
    "find",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "islower",
    "isnumeric",
    "isspace",
    "istitle",
    "isupper",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "partition",
    "removeprefix",
    "removesuffix",
    "replace",
    "rfind",
    "rindex",
    "rjust",
    "rpartition",
    "rsplit",
    "rstrip",
    "split",
    "splitlines",
    "startswith",
    "strip",
    "swapcase",
    "title",
    "upper",
    "zfill",
    // list, tuple and dict
    "copy",
    "get",
    "items",
    "keys",
    "values",
    // float
    "is_integer",
    // Jinja2's loop object
    "cycle",
    "changed",
];

/// Dict methods: in Jinja2 `data.items` (without a call) is the method, not the key `items`.
pub(super) const DICT_METHODS: &[&str] = &[
    "clear",
    "copy",
    "fromkeys",
    "get",
    "items",
    "keys",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "values",
];

/// Methods that change a list or dict in place, which a template here cannot do.
pub(super) const MUTATING: &[&str] = &[
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "sort",
    "reverse",
    "clear",
    "update",
    "setdefault",
    "popitem",
];

fn no_method(value: &Value, name: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!(
            "'{}' object has no attribute '{name}'",
            python::type_name(value)
        ),
    )
}

/// minijinja's unknown-method callback: Python's methods of `value`'s type.
pub(super) fn call(
    _state: &State,
    value: &Value,
    name: &str,
    args: &[Value],
) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::String => str_method(value.as_str().unwrap_or_default(), name, args)
            .unwrap_or_else(|| Err(no_method(value, name))),
        ValueKind::Map => dict_method(value, name, args),
        ValueKind::Seq if value.downcast_object_ref::<Tuple>().is_some() => {
            seq_method(value, name, args, "tuple")
        }
        ValueKind::Seq => seq_method(value, name, args, "list"),
        ValueKind::Number if !value.is_integer() && name == "is_integer" => {
            bind("is_integer", args, &[], 0)?;
            let number = f64::try_from(value.clone()).unwrap_or(f64::NAN);
            Ok(Value::from(number.is_finite() && number.fract() == 0.0))
        }
        _ => Err(no_method(value, name)),
    }
}

fn dict_method(value: &Value, name: &str, args: &[Value]) -> Result<Value, Error> {
    let view = |kind| {
        bind(name, args, &[], 0)?;
        Ok(python::dict_view(value.clone(), kind))
    };
    match name {
        "get" => {
            let bound = bind("get", args, &["key", "default"], 1)?;
            let item = value.get_item(bound[0].as_ref().expect("required"))?;
            Ok(if item.is_undefined() {
                bound[1].clone().unwrap_or(Value::from(()))
            } else {
                item
            })
        }
        "items" => view(DictViewKind::Items),
        "keys" => view(DictViewKind::Keys),
        "values" => view(DictViewKind::Values),
        "copy" => {
            bind(name, args, &[], 0)?;
            Ok(value.clone())
        }
        _ => Err(no_method(value, name)),
    }
}

fn seq_method(value: &Value, name: &str, args: &[Value], type_name: &str) -> Result<Value, Error> {
    let items: Vec<Value> = value.try_iter()?.collect();
    match name {
        "count" => {
            let bound = bind("count", args, &["value"], 1)?;
            let needle = bound[0].as_ref().expect("required");
            Ok(Value::from(
                items.iter().filter(|item| *item == needle).count(),
            ))
        }
        "index" => {
            let bound = bind("index", args, &["value", "start", "stop"], 1)?;
            let needle = bound[0].as_ref().expect("required");
            let (start, stop) = range_of(items.len(), &bound[1], &bound[2])?;
            match (start..stop).find(|&i| &items[i] == needle) {
                Some(at) => Ok(Value::from(at)),
                None if type_name == "tuple" => {
                    Err(fail("ValueError: tuple.index(x): x not in tuple"))
                }
                None => {
                    let mut text = String::from("ValueError: ");
                    python::repr(needle, &mut text);
                    text.push_str(" is not in list");
                    Err(fail(text))
                }
            }
        }
        "copy" if type_name == "list" => {
            bind(name, args, &[], 0)?;
            Ok(Value::from(items))
        }
        _ => Err(no_method(value, name)),
    }
}

/// Python's `str.isspace()` for one character.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The line boundaries of Python's `str.splitlines`.
pub(crate) fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `str.splitlines(keepends)`.
pub(super) fn split_lines(text: &str, keep_ends: bool) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((at, c)) = iter.next() {
        if !is_line_break(c) {
            continue;
        }
        let mut end = at + c.len_utf8();
        if c == '\r' && iter.peek().map(|(_, n)| *n) == Some('\n') {
            iter.next();
            end += 1;
        }
        lines.push(if keep_ends {
            &text[start..end]
        } else {
            &text[start..at]
        });
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// `str.strip(chars)`, `lstrip`, `rstrip`: `chars` absent or `None` strips whitespace.
pub(super) fn strip<'t>(
    text: &'t str,
    chars: Option<&Value>,
    left: bool,
    right: bool,
) -> Result<&'t str, Error> {
    let set: Option<Vec<char>> = match chars {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => match v.as_str() {
            Some(s) => Some(s.chars().collect()),
            None => {
                return Err(fail(format!(
                    "TypeError: strip arg must be None or str, not {}",
                    python::type_name(v)
                )))
            }
        },
    };
    let matches = |c: char| match &set {
        None => is_space(c),
        Some(set) => set.contains(&c),
    };
    let mut text = text;
    if left {
        text = text.trim_start_matches(matches);
    }
    if right {
        text = text.trim_end_matches(matches);
    }
    Ok(text)
}

/// Python's `str.title()`.
pub(super) fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_cased = false;
    for c in text.chars() {
        if c.is_uppercase() {
            if previous_cased {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
            previous_cased = true;
        } else if c.is_lowercase() {
            if previous_cased {
                out.push(c);
            } else {
                out.extend(c.to_uppercase());
            }
            previous_cased = true;
        } else {
            out.push(c);
            previous_cased = false;
        }
    }
    out
}

/// Python's `str.capitalize()`: the first character upper, the rest lower.
pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.as_str().to_lowercase().chars())
            .collect(),
        None => String::new(),
    }
}

/// Python's `str.center(width, fillchar)`.
pub(super) fn center(text: &str, width: usize, fill: char) -> String {
    let len = text.chars().count();
    if width <= len {
        return text.to_string();
    }
    let margin = width - len;
    let left = margin / 2 + (margin & width & 1);
    let mut out = String::new();
    out.extend(std::iter::repeat_n(fill, left));
    out.push_str(text);
    out.extend(std::iter::repeat_n(fill, margin - left));
    out
}

/// Python's `str.split(sep, maxsplit)` and `rsplit`.
fn split(text: &str, sep: Option<&str>, max: Option<usize>, from_right: bool) -> Vec<String> {
    let max = max.unwrap_or(usize::MAX);
    match sep {
        Some(sep) if from_right => {
            let mut parts: Vec<String> = text
                .rsplitn(max.saturating_add(1), sep)
                .map(str::to_string)
                .collect();
            parts.reverse();
            parts
        }
        Some(sep) => text
            .splitn(max.saturating_add(1), sep)
            .map(str::to_string)
            .collect(),
        None => {
            let chars: Vec<char> = if from_right {
                text.chars().rev().collect()
            } else {
                text.chars().collect()
            };
            let mut parts: Vec<String> = Vec::new();
            let mut i = 0;
            while i < chars.len() && is_space(chars[i]) {
                i += 1;
            }
            let mut splits = 0;
            while i < chars.len() {
                if splits == max {
                    parts.push(chars[i..].iter().collect());
                    break;
                }
                let start = i;
                while i < chars.len() && !is_space(chars[i]) {
                    i += 1;
                }
                parts.push(chars[start..i].iter().collect());
                splits += 1;
                while i < chars.len() && is_space(chars[i]) {
                    i += 1;
                }
            }
            if from_right {
                parts = parts
                    .into_iter()
                    .rev()
                    .map(|p| p.chars().rev().collect())
                    .collect();
            }
            parts
        }
    }
}

/// Start and stop indices as Python slices them (negative counts from the end, clamped).
fn range_of(
    len: usize,
    start: &Option<Value>,
    stop: &Option<Value>,
) -> Result<(usize, usize), Error> {
    let index = |value: &Option<Value>, default: usize| -> Result<usize, Error> {
        match value {
            None => Ok(default),
            Some(v) if v.is_none() => Ok(default),
            Some(v) => {
                let i = v.as_i64().filter(|_| v.is_integer()).ok_or_else(|| {
                    fail("TypeError: slice indices must be integers or None or have an __index__ method")
                })?;
                Ok(if i < 0 {
                    (len as i64 + i).max(0) as usize
                } else {
                    (i as usize).min(len)
                })
            }
        }
    };
    Ok((index(start, 0)?, index(stop, len)?))
}

fn text_arg<'v>(value: &'v Value, func: &str) -> Result<&'v str, Error> {
    value.as_str().ok_or_else(|| {
        fail(format!(
            "TypeError: {func}() argument must be str, not {}",
            python::type_name(value)
        ))
    })
}

fn int_arg(value: &Value, func: &str) -> Result<i64, Error> {
    value
        .as_i64()
        .filter(|_| value.is_integer() || value.kind() == ValueKind::Bool)
        .ok_or_else(|| {
            fail(format!(
                "TypeError: '{}' object cannot be interpreted as an integer (in {func}())",
                python::type_name(value)
            ))
        })
}

fn fill_char(value: Option<&Value>, func: &str) -> Result<char, Error> {
    match value {
        None => Ok(' '),
        Some(v) => {
            let text = text_arg(v, func)?;
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(fail(
                    "TypeError: The fill character must be exactly one character long",
                )),
            }
        }
    }
}

fn char_slice(text: &str, start: usize, stop: usize) -> String {
    text.chars()
        .skip(start)
        .take(stop.saturating_sub(start))
        .collect()
}

/// `text.startswith(prefix)` / `endswith`: one string, or a tuple of them.
fn affix(text: &str, args: &[Value], name: &str) -> Result<Value, Error> {
    let bound = bind(name, args, &["prefix", "start", "end"], 1)?;
    let len = text.chars().count();
    let (start, stop) = range_of(len, &bound[1], &bound[2])?;
    let part = char_slice(text, start, stop);
    let test = |affix: &str| {
        if name == "startswith" {
            part.starts_with(affix)
        } else {
            part.ends_with(affix)
        }
    };
    let arg = bound[0].as_ref().expect("required");
    if let Some(affix) = arg.as_str() {
        return Ok(Value::from(test(affix)));
    }
    if let Some(tuple) = arg.downcast_object_ref::<Tuple>() {
        for item in tuple.items() {
            if test(text_arg(item, name)?) {
                return Ok(Value::from(true));
            }
        }
        return Ok(Value::from(false));
    }
    Err(fail(format!(
        "TypeError: {name} first arg must be str or a tuple of str, not {}",
        python::type_name(arg)
    )))
}

/// `find`, `rfind`, `index`, `rindex` and `count` of a substring, in characters.
fn search(text: &str, args: &[Value], name: &str) -> Result<Value, Error> {
    let bound = bind(name, args, &["sub", "start", "end"], 1)?;
    let sub = text_arg(bound[0].as_ref().expect("required"), name)?;
    let chars: Vec<char> = text.chars().collect();
    let (start, stop) = range_of(chars.len(), &bound[1], &bound[2])?;
    let needle: Vec<char> = sub.chars().collect();
    let fits = |at: usize| at + needle.len() <= stop && chars[at..at + needle.len()] == needle[..];
    if name == "count" {
        if start > stop {
            return Ok(Value::from(0));
        }
        if needle.is_empty() {
            return Ok(Value::from(stop - start + 1));
        }
        let (mut at, mut count) = (start, 0);
        while at + needle.len() <= stop {
            if fits(at) {
                count += 1;
                at += needle.len();
            } else {
                at += 1;
            }
        }
        return Ok(Value::from(count));
    }
    let found = if start > stop || needle.len() > stop - start.min(stop) {
        None
    } else if name.starts_with('r') {
        (start..=stop - needle.len()).rev().find(|&at| fits(at))
    } else {
        (start..=stop - needle.len()).find(|&at| fits(at))
    };
    match (found, name) {
        (Some(at), _) => Ok(Value::from(at)),
        (None, "find" | "rfind") => Ok(Value::from(-1)),
        (None, _) => Err(fail("ValueError: substring not found")),
    }
}

/// A `str` method by name, `None` when `str` has no such method (the caller then reports it as
/// Python would). Tried group by group, each group a plain dispatch of its own.
fn str_method(text: &str, name: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    case_method(text, name, args)
        .or_else(|| split_method(text, name, args))
        .or_else(|| edit_method(text, name, args))
}

/// Case conversions and the `is…` tests: grouped because none takes an argument, so they share
/// the argument check.
fn case_method(text: &str, name: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    let no_args = |f: &dyn Fn() -> Value| -> Result<Value, Error> {
        bind(name, args, &[], 0)?;
        Ok(f())
    };
    let all = |test: &dyn Fn(char) -> bool| -> Result<Value, Error> {
        bind(name, args, &[], 0)?;
        Ok(Value::from(!text.is_empty() && text.chars().all(test)))
    };
    Some(match name {
        "upper" => no_args(&|| Value::from(text.to_uppercase())),
        "lower" => no_args(&|| Value::from(text.to_lowercase())),
        "casefold" => no_args(&|| Value::from(text.to_lowercase().replace('ß', "ss"))),
        "title" => no_args(&|| Value::from(title(text))),
        "capitalize" => no_args(&|| Value::from(capitalize(text))),
        "swapcase" => no_args(&|| {
            Value::from(
                text.chars()
                    .flat_map(|c| -> Vec<char> {
                        if c.is_uppercase() {
                            c.to_lowercase().collect()
                        } else if c.is_lowercase() {
                            c.to_uppercase().collect()
                        } else {
                            vec![c]
                        }
                    })
                    .collect::<String>(),
            )
        }),
        "isalpha" => all(&|c| c.is_alphabetic()),
        "isalnum" => all(&|c| c.is_alphanumeric()),
        "isdigit" | "isdecimal" | "isnumeric" => all(&|c| c.is_numeric()),
        "isspace" => all(&is_space),
        "isascii" => return Some(bind(name, args, &[], 0).map(|_| Value::from(text.is_ascii()))),
        "islower" | "isupper" | "istitle" => {
            return Some(bind(name, args, &[], 0).map(|_| Value::from(case_test(text, name))))
        }
        _ => return None,
    })
}

/// Methods that look into the text: trimming, splitting, partitioning, prefixes and searches,
/// all in characters, with Python's errors for an empty separator.
fn split_method(text: &str, name: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match name {
        "strip" | "lstrip" | "rstrip" => (|| {
            let bound = bind(name, args, &["chars"], 0)?;
            let (left, right) = (name != "rstrip", name != "lstrip");
            Ok(Value::from(strip(text, bound[0].as_ref(), left, right)?))
        })(),
        "split" | "rsplit" => (|| {
            let bound = bind(name, args, &["sep", "maxsplit"], 0)?;
            let sep = match &bound[0] {
                Some(v) if !v.is_none() => Some(text_arg(v, name)?),
                _ => None,
            };
            if sep == Some("") {
                return Err(fail("ValueError: empty separator"));
            }
            let max = match &bound[1] {
                Some(v) => usize::try_from(int_arg(v, name)?).ok(),
                None => None,
            };
            Ok(Value::from(split(text, sep, max, name == "rsplit")))
        })(),
        "splitlines" => (|| {
            let bound = bind(name, args, &["keepends"], 0)?;
            let keep = bound[0].as_ref().is_some_and(Value::is_true);
            Ok(Value::from(
                split_lines(text, keep)
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ))
        })(),
        "startswith" | "endswith" => affix(text, args, name),
        "find" | "rfind" | "index" | "rindex" | "count" => search(text, args, name),
        "partition" | "rpartition" => (|| {
            let bound = bind(name, args, &["sep"], 1)?;
            let sep = text_arg(bound[0].as_ref().expect("required"), name)?;
            if sep.is_empty() {
                return Err(fail("ValueError: empty separator"));
            }
            let found = if name == "partition" {
                text.find(sep)
            } else {
                text.rfind(sep)
            };
            let parts = match found {
                Some(at) => [&text[..at], sep, &text[at + sep.len()..]],
                None if name == "partition" => [text, "", ""],
                None => ["", "", text],
            };
            Ok(python::tuple(
                parts.iter().map(|p| Value::from(*p)).collect(),
            ))
        })(),
        _ => return None,
    })
}

/// Methods that build a new text from this one: replacing, joining, padding and removing
/// an affix.
fn edit_method(text: &str, name: &str, args: &[Value]) -> Option<Result<Value, Error>> {
    Some(match name {
        "replace" => (|| {
            let bound = bind(name, args, &["old", "new", "count"], 2)?;
            let old = text_arg(bound[0].as_ref().expect("required"), name)?;
            let new = text_arg(bound[1].as_ref().expect("required"), name)?;
            let count = match &bound[2] {
                Some(v) => int_arg(v, name)?,
                None => -1,
            };
            Ok(Value::from(replace(text, old, new, count)))
        })(),
        "join" => (|| {
            let bound = bind(name, args, &["iterable"], 1)?;
            let iterable = bound[0].as_ref().expect("required");
            let mut parts = Vec::new();
            for (i, item) in iterable.try_iter()?.enumerate() {
                match item.as_str() {
                    Some(part) => parts.push(part.to_string()),
                    None => {
                        return Err(fail(format!(
                            "TypeError: sequence item {i}: expected str instance, {} found",
                            python::type_name(&item)
                        )))
                    }
                }
            }
            Ok(Value::from(parts.join(text)))
        })(),
        "center" | "ljust" | "rjust" => (|| {
            let bound = bind(name, args, &["width", "fillchar"], 1)?;
            let width = int_arg(bound[0].as_ref().expect("required"), name)?.max(0) as usize;
            let fill = fill_char(bound[1].as_ref(), name)?;
            let len = text.chars().count();
            let pad: String = std::iter::repeat_n(fill, width.saturating_sub(len)).collect();
            Ok(Value::from(match name {
                "center" => center(text, width, fill),
                "ljust" => format!("{text}{pad}"),
                _ => format!("{pad}{text}"),
            }))
        })(),
        "zfill" => (|| {
            let bound = bind(name, args, &["width"], 1)?;
            let width = int_arg(bound[0].as_ref().expect("required"), name)?.max(0) as usize;
            let len = text.chars().count();
            if width <= len {
                return Ok(Value::from(text));
            }
            let zeros = "0".repeat(width - len);
            Ok(Value::from(match text.chars().next() {
                Some(sign @ ('+' | '-')) => format!("{sign}{zeros}{}", &text[1..]),
                _ => format!("{zeros}{text}"),
            }))
        })(),
        "removeprefix" | "removesuffix" => (|| {
            let bound = bind(name, args, &["affix"], 1)?;
            let affix = text_arg(bound[0].as_ref().expect("required"), name)?;
            let rest = if name == "removeprefix" {
                text.strip_prefix(affix)
            } else {
                text.strip_suffix(affix)
            };
            Ok(Value::from(rest.unwrap_or(text)))
        })(),
        _ => return None,
    })
}

/// `str.islower()`, `isupper()`, `istitle()`.
fn case_test(text: &str, name: &str) -> bool {
    let cased = |c: char| c.is_uppercase() || c.is_lowercase();
    match name {
        "islower" => text.chars().any(cased) && !text.chars().any(char::is_uppercase),
        "isupper" => text.chars().any(cased) && !text.chars().any(char::is_lowercase),
        _ => {
            let (mut previous_cased, mut any) = (false, false);
            for c in text.chars() {
                if c.is_uppercase() {
                    if previous_cased {
                        return false;
                    }
                    previous_cased = true;
                    any = true;
                } else if c.is_lowercase() {
                    if !previous_cased {
                        return false;
                    }
                    previous_cased = true;
                    any = true;
                } else {
                    previous_cased = false;
                }
            }
            any
        }
    }
}

/// Python's `str.replace(old, new, count)`; a negative count replaces all.
pub(super) fn replace(text: &str, old: &str, new: &str, count: i64) -> String {
    if count < 0 {
        text.replace(old, new)
    } else {
        text.replacen(old, new, count as usize)
    }
}

/// A number as Python sees it: bools are integers.
pub(super) enum Number {
    Int(i128),
    Float(f64),
}

pub(super) fn number(value: &Value) -> Option<Number> {
    match value.kind() {
        ValueKind::Bool => Some(Number::Int(i128::from(value.is_true()))),
        ValueKind::Number if value.is_integer() => {
            i128::try_from(value.clone()).ok().map(Number::Int)
        }
        ValueKind::Number => f64::try_from(value.clone()).ok().map(Number::Float),
        _ => None,
    }
}

fn operands(a: &Value, b: &Value, op: &str) -> Result<(Number, Number), Error> {
    match (number(a), number(b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(fail(format!(
            "TypeError: unsupported operand type(s) for {op}: '{}' and '{}'",
            python::type_name(a),
            python::type_name(b)
        ))),
    }
}

fn as_float(n: &Number) -> f64 {
    match n {
        Number::Int(i) => *i as f64,
        Number::Float(f) => *f,
    }
}

fn overflow(op: &str) -> Error {
    fail(format!(
        "OverflowError: the result of {op} does not fit in 128 bits (Python would print it exactly)"
    ))
}

/// Python's `a + b`: numbers, text (escaping plain text joined to `Markup`, as markupsafe
/// does), lists with lists and tuples with tuples.
pub(super) fn add(a: Value, b: Value) -> Result<Value, Error> {
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        if a.is_safe() || b.is_safe() {
            let escape = |v: &Value, t: &str| {
                if v.is_safe() {
                    t.to_string()
                } else {
                    super::filters::html_escape(t)
                }
            };
            return Ok(Value::from_safe_string(escape(&a, x) + &escape(&b, y)));
        }
        return Ok(Value::from(format!("{x}{y}")));
    }
    let is_tuple = |v: &Value| v.downcast_object_ref::<Tuple>().is_some();
    let is_list =
        |v: &Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable) && !is_tuple(v);
    if (is_list(&a) && is_list(&b)) || (is_tuple(&a) && is_tuple(&b)) {
        let mut items: Vec<Value> = a.try_iter()?.collect();
        items.extend(b.try_iter()?);
        return Ok(if is_tuple(&a) {
            python::tuple(items)
        } else {
            Value::from(items)
        });
    }
    if a.kind() == ValueKind::String || is_list(&a) || is_tuple(&a) {
        let kind = if a.kind() == ValueKind::String {
            "str"
        } else {
            python::type_name(&a)
        };
        if number(&b).is_some() || b.kind() != ValueKind::Undefined {
            return Err(fail(format!(
                "TypeError: can only concatenate {kind} (not \"{}\") to {kind}",
                python::type_name(&b)
            )));
        }
    }
    match operands(&a, &b, "+")? {
        (Number::Int(x), Number::Int(y)) => x
            .checked_add(y)
            .map(Value::from)
            .ok_or_else(|| overflow("+")),
        (x, y) => Ok(Value::from(as_float(&x) + as_float(&y))),
    }
}

/// Python's `a % b`: string formatting when `a` is text, else the modulo with the sign of `b`.
pub(super) fn modulo(a: Value, b: Value) -> Result<Value, Error> {
    if let Some(format) = a.as_str() {
        return python::percent_format(format, PercentArgs::of(&b))
            .map(Value::from)
            .map_err(fail);
    }
    match operands(&a, &b, "%")? {
        (Number::Int(_), Number::Int(0)) => Err(fail("ZeroDivisionError: integer modulo by zero")),
        (Number::Int(x), Number::Int(y)) => {
            let r = x % y;
            Ok(Value::from(if r != 0 && ((r < 0) != (y < 0)) {
                r + y
            } else {
                r
            }))
        }
        (x, y) => {
            let (x, y) = (as_float(&x), as_float(&y));
            if y == 0.0 {
                return Err(fail("ZeroDivisionError: float modulo"));
            }
            Ok(Value::from(float_divmod(x, y).1))
        }
    }
}

/// Python's true division `a / b`.
pub(super) fn true_div(a: Value, b: Value) -> Result<Value, Error> {
    let (x, y) = operands(&a, &b, "/")?;
    let (x, y) = (as_float(&x), as_float(&y));
    if y == 0.0 {
        return Err(fail("ZeroDivisionError: division by zero"));
    }
    Ok(Value::from(x / y))
}

/// Python's floor division `a // b`.
pub(super) fn floor_div(a: Value, b: Value) -> Result<Value, Error> {
    match operands(&a, &b, "//")? {
        (Number::Int(_), Number::Int(0)) => Err(fail(
            "ZeroDivisionError: integer division or modulo by zero",
        )),
        (Number::Int(x), Number::Int(y)) => {
            let q = x.checked_div(y).ok_or_else(|| overflow("//"))?;
            Ok(Value::from(if x % y != 0 && ((x < 0) != (y < 0)) {
                q - 1
            } else {
                q
            }))
        }
        (x, y) => {
            let (x, y) = (as_float(&x), as_float(&y));
            if y == 0.0 {
                return Err(fail("ZeroDivisionError: float floor division by zero"));
            }
            Ok(Value::from(float_divmod(x, y).0))
        }
    }
}

/// CPython's `float_divmod`: (floor quotient, modulo with the sign of `y`).
fn float_divmod(x: f64, y: f64) -> (f64, f64) {
    let mut m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(y);
    }
    let floor = if div != 0.0 {
        let mut floor = div.floor();
        if div - floor > 0.5 {
            floor += 1.0;
        }
        floor
    } else {
        0.0f64.copysign(x / y)
    };
    (floor, m)
}

/// Python's `a ** b`.
pub(super) fn power(a: Value, b: Value) -> Result<Value, Error> {
    match operands(&a, &b, "** or pow()")? {
        (Number::Int(x), Number::Int(y)) if y >= 0 => {
            let y = u32::try_from(y).map_err(|_| overflow("**"))?;
            x.checked_pow(y)
                .map(Value::from)
                .ok_or_else(|| overflow("**"))
        }
        (x, y) => {
            let (x, y) = (as_float(&x), as_float(&y));
            if x == 0.0 && y < 0.0 {
                return Err(fail(
                    "ZeroDivisionError: 0.0 cannot be raised to a negative power",
                ));
            }
            if x < 0.0 && y.fract() != 0.0 {
                return Err(fail(
                    "ValueError: a negative number to a fractional power is complex in Python",
                ));
            }
            Ok(Value::from(x.powf(y)))
        }
    }
}

/// Python's `<` order for sorting, `min` and `max`: numbers (bools too) by value, text by code
/// point, lists and tuples item by item; anything else cannot be ordered (`TypeError`).
pub(super) fn compare(a: &Value, b: &Value) -> Result<Ordering, Error> {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return Ok(match (x, y) {
            (Number::Int(x), Number::Int(y)) => x.cmp(&y),
            (x, y) => as_float(&x)
                .partial_cmp(&as_float(&y))
                .unwrap_or(Ordering::Equal),
        });
    }
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return Ok(x.cmp(y));
    }
    let is_tuple = |v: &Value| v.downcast_object_ref::<Tuple>().is_some();
    if a.kind() == ValueKind::Seq && b.kind() == ValueKind::Seq && is_tuple(a) == is_tuple(b) {
        let (xs, ys): (Vec<Value>, Vec<Value>) = (a.try_iter()?.collect(), b.try_iter()?.collect());
        for (x, y) in xs.iter().zip(&ys) {
            if x != y {
                return compare(x, y);
            }
        }
        return Ok(xs.len().cmp(&ys.len()));
    }
    Err(fail(format!(
        "TypeError: '<' not supported between instances of '{}' and '{}'",
        python::type_name(a),
        python::type_name(b)
    )))
}
