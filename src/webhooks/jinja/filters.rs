//! Jinja2 3.1's built-in filters, as `jinja2/filters.py` defines them, plus NetBox's
//! `header_safe` and Jinja2's `tojson` as NetBox's environment has it. [`FILTERS`] is the whole
//! set; [`REFUSED`] names the Jinja2 filters we do not offer and what to write instead.

use std::collections::HashSet;

use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, State};

use super::methods::{self, center, compare, number, Number};
use super::{bind, fail};
use crate::python::{self, DictViewKind, PercentArgs, Tuple};

/// Every filter offered.
pub(super) const FILTERS: &[&str] = &[
    "abs",
    "batch",
    "capitalize",
    "center",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "filesizeformat",
    "first",
    "float",
    "forceescape",
    "format",
    "groupby",
    "header_safe",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
];

/// Filters Jinja2 or NetBox has that we do not offer, with what to write instead.
pub(super) const REFUSED: &[(&str, &str)] = &[
    ("attr", "it reads Python attributes, not keys, so on webhook data it gives nothing; write x['name'] or x.name"),
    ("random", "its output changes from one delivery to the next; pick an item with [0] or |first"),
    ("urlize", "which text it turns into links depends on Jinja2's URL patterns, which manage does not reproduce; write the <a href> yourself"),
    ("wordwrap", "where it breaks lines follows Python's textwrap, which manage does not reproduce; write the line breaks yourself"),
    ("xmlattr", "webhook bodies are not HTML or XML, and its escaping and key checks are not reproduced; write the attributes yourself, with |e"),
    ("env", "NetBox's env filter reads the server's environment, which manage does not expose to templates"),
];

/// Filters that read their input one item at a time, so a generator may feed them.
pub(super) const ITERATING: &[&str] = &[
    "batch",
    "first",
    "groupby",
    "join",
    "list",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "select",
    "selectattr",
    "slice",
    "sort",
    "sum",
    "unique",
    "d",
    "default",
];

/// Filters whose result in Jinja2 is a generator (or an iterator), not a list.
pub(super) const GENERATORS: &[&str] = &[
    "batch",
    "items",
    "map",
    "reject",
    "rejectattr",
    "reverse",
    "select",
    "selectattr",
    "slice",
    "unique",
];

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("safe", minijinja::filters::safe);
    env.add_filter("map", minijinja::filters::map);
    env.add_filter("select", minijinja::filters::select);
    env.add_filter("reject", minijinja::filters::reject);
    env.add_filter("selectattr", minijinja::filters::selectattr);
    env.add_filter("rejectattr", minijinja::filters::rejectattr);
    env.add_filter("tojson", tojson);
    env.add_filter("header_safe", |value: Value| {
        let mut text = python::str(&value).into_owned();
        text.retain(|c| !c.is_ascii_control());
        text
    });
    for name in FILTERS {
        let name: &'static str = name;
        if matches!(
            name,
            "safe"
                | "map"
                | "select"
                | "reject"
                | "selectattr"
                | "rejectattr"
                | "tojson"
                | "header_safe"
        ) {
            continue;
        }
        env.add_filter(
            name,
            move |state: &State, value: Value, args: Rest<Value>| filter(state, name, value, &args),
        );
    }
}

fn text(value: &Value) -> String {
    python::str(value).into_owned()
}

fn not_iterable(value: &Value) -> Error {
    fail(format!(
        "TypeError: '{}' object is not iterable",
        python::type_name(value)
    ))
}

/// `list(value)`: characters of text, keys of a dict, nothing for undefined.
pub(super) fn items_of(value: &Value) -> Result<Vec<Value>, Error> {
    match value.kind() {
        ValueKind::String => Ok(value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect()),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Ok(value.try_iter()?.collect()),
        ValueKind::Undefined => Ok(Vec::new()),
        _ => Err(not_iterable(value)),
    }
}

/// Jinja2's `make_attrgetter`: a dotted path of keys (digits index lists), then `default` for
/// what is undefined, then lower case when the comparison ignores case.
fn attr_getter(
    attribute: Option<&Value>,
    default: Option<Value>,
    ignore_case: bool,
) -> impl Fn(&Value) -> Result<Value, Error> {
    let parts: Vec<Value> = match attribute {
        None => Vec::new(),
        Some(a) if a.is_none() => Vec::new(),
        Some(a) => match a.as_str() {
            Some(path) => path
                .split('.')
                .map(|part| match part.parse::<usize>() {
                    Ok(i) if part.bytes().all(|b| b.is_ascii_digit()) => Value::from(i),
                    _ => Value::from(part),
                })
                .collect(),
            None => vec![a.clone()],
        },
    };
    move |item: &Value| {
        let mut item = item.clone();
        for part in &parts {
            item = item.get_item(part)?;
            if let (Some(default), true) = (&default, item.is_undefined()) {
                item = default.clone();
            }
        }
        Ok(if ignore_case {
            lower_if_text(item)
        } else {
            item
        })
    }
}

fn lower_if_text(value: Value) -> Value {
    match value.as_str() {
        Some(text) => Value::from(text.to_lowercase()),
        None => value,
    }
}

fn sort_values(items: &mut [(Value, Value)], reverse: bool) -> Result<(), Error> {
    let mut error = None;
    items.sort_by(|(a, _), (b, _)| {
        let order = match compare(a, b) {
            Ok(order) => order,
            Err(e) => {
                error.get_or_insert(e);
                std::cmp::Ordering::Equal
            }
        };
        if reverse {
            order.reverse()
        } else {
            order
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn flag(value: &Option<Value>) -> bool {
    value.as_ref().is_some_and(Value::is_true)
}

fn int_param(value: &Option<Value>, default: i64, name: &str) -> Result<i64, Error> {
    match value {
        None => Ok(default),
        Some(v) => match number(v) {
            Some(Number::Int(i)) => Ok(i as i64),
            _ => Err(fail(format!(
                "TypeError: {name} must be an integer, not {}",
                python::type_name(v)
            ))),
        },
    }
}

/// HTML escaping as markupsafe does it: `&<>'"` as `&amp;&lt;&gt;&#39;&#34;`.
pub(super) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// A filter's body: its name (for argument errors), its input and its arguments. Plain
/// function pointers, so each group below can hand back the one to run without boxing.
type FilterFn = fn(&str, Value, &[Value]) -> Result<Value, Error>;

/// One of Jinja2's filters by name. They are looked up group by group (each group answers
/// `None` for names outside it) so that no one dispatch holds all of them.
fn filter(state: &State, name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let _ = state;
    let run = text_filters(name)
        .or_else(|| conversion_filters(name))
        .or_else(|| sequence_filters(name))
        .or_else(|| sorting_filters(name))
        .or_else(|| number_filters(name));
    match run {
        Some(run) => run(name, value, args),
        None => Err(fail(format!("no filter named '{name}'"))),
    }
}

/// Filters that reshape text: case, padding, trimming, replacing, indenting, truncating.
fn text_filters(name: &str) -> Option<FilterFn> {
    let run: FilterFn = match name {
        "capitalize" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(methods::capitalize(&text(&value))))
        },
        "center" => |name, value, args| {
            let b = bind(name, args, &["width"], 0)?;
            let width = int_param(&b[0], 80, "width")?.max(0) as usize;
            Ok(Value::from(center(&text(&value), width, ' ')))
        },
        "lower" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(text(&value).to_lowercase()))
        },
        "upper" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(text(&value).to_uppercase()))
        },
        "title" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(jinja_title(&text(&value))))
        },
        "trim" => |name, value, args| {
            let b = bind(name, args, &["chars"], 0)?;
            let source = text(&value);
            Ok(Value::from(methods::strip(
                &source,
                b[0].as_ref(),
                true,
                true,
            )?))
        },
        "replace" => |name, value, args| {
            let b = bind(name, args, &["old", "new", "count"], 2)?;
            let count = match &b[2] {
                Some(c) if !c.is_none() => int_param(&b[2], -1, "count")?,
                _ => -1,
            };
            Ok(Value::from(methods::replace(
                &text(&value),
                &text(b[0].as_ref().expect("required")),
                &text(b[1].as_ref().expect("required")),
                count,
            )))
        },
        "indent" => indent_filter,
        "truncate" => truncate_filter,
        "wordcount" => wordcount_filter,
        _ => return None,
    };
    Some(run)
}

/// Filters that turn a value into the text that is output (escaped, formatted, quoted for a
/// URL, pretty-printed) or stand in for a missing one.
fn conversion_filters(name: &str) -> Option<FilterFn> {
    let run: FilterFn = match name {
        "d" | "default" => |name, value, args| {
            let b = bind(name, args, &["default_value", "boolean"], 0)?;
            let use_default = value.is_undefined() || (flag(&b[1]) && !value.is_true());
            Ok(if use_default {
                b[0].clone().unwrap_or(Value::from(""))
            } else {
                value
            })
        },
        "string" => |name, value, args| {
            bind(name, args, &[], 0)?;
            if value.kind() == ValueKind::String {
                return Ok(value);
            }
            Ok(Value::from(text(&value)))
        },
        "pprint" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(python::pformat(&value)))
        },
        "format" => format_filter,
        "e" | "escape" => |name, value, args| {
            bind(name, args, &[], 0)?;
            if value.is_safe() {
                return Ok(value);
            }
            Ok(Value::from_safe_string(html_escape(&text(&value))))
        },
        "forceescape" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from_safe_string(html_escape(&text(&value))))
        },
        "striptags" => |name, value, args| {
            bind(name, args, &[], 0)?;
            striptags(&text(&value)).map(Value::from)
        },
        "urlencode" => |name, value, args| {
            bind(name, args, &[], 0)?;
            urlencode(&value).map(Value::from)
        },
        _ => return None,
    };
    Some(run)
}

/// Filters that read a sequence (or a dict, or text) item by item: its length, ends, items,
/// rows and columns.
fn sequence_filters(name: &str) -> Option<FilterFn> {
    let run: FilterFn = match name {
        "count" | "length" => |name, value, args| {
            bind(name, args, &[], 0)?;
            match value.kind() {
                ValueKind::String => Ok(Value::from(
                    value.as_str().unwrap_or_default().chars().count(),
                )),
                ValueKind::Undefined => Ok(Value::from(0)),
                ValueKind::Seq | ValueKind::Map => Ok(Value::from(value.len().unwrap_or(0))),
                ValueKind::Iterable => Ok(Value::from(value.try_iter()?.count())),
                _ => Err(fail(format!(
                    "TypeError: object of type '{}' has no len()",
                    python::type_name(&value)
                ))),
            }
        },
        "first" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(items_of(&value)?
                .into_iter()
                .next()
                .unwrap_or(Value::UNDEFINED))
        },
        "last" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(items_of(&value)?.pop().unwrap_or(Value::UNDEFINED))
        },
        "list" => |name, value, args| {
            bind(name, args, &[], 0)?;
            Ok(Value::from(items_of(&value)?))
        },
        "items" => |name, value, args| {
            bind(name, args, &[], 0)?;
            match value.kind() {
                ValueKind::Undefined => Ok(Value::from(Vec::<Value>::new())),
                ValueKind::Map => Ok(Value::from(
                    python::dict_view(value, DictViewKind::Items)
                        .try_iter()?
                        .collect::<Vec<_>>(),
                )),
                _ => Err(fail(
                    "FilterArgumentError: Can only get item pairs from a mapping.",
                )),
            }
        },
        "join" => |name, value, args| {
            let b = bind(name, args, &["d", "attribute"], 0)?;
            let separator = b[0].as_ref().map(text).unwrap_or_default();
            let get = attr_getter(b[1].as_ref(), None, false);
            let parts = items_of(&value)?
                .iter()
                .map(|item| get(item).map(|v| text(&v)))
                .collect::<Result<Vec<_>, Error>>()?;
            Ok(Value::from(parts.join(&separator)))
        },
        "reverse" => |name, value, args| {
            bind(name, args, &[], 0)?;
            if let Some(text) = value.as_str() {
                return Ok(Value::from(text.chars().rev().collect::<String>()));
            }
            let mut items = items_of(&value)?;
            items.reverse();
            Ok(Value::from(items))
        },
        "batch" => batch_filter,
        "slice" => slice_filter,
        _ => return None,
    };
    Some(run)
}

/// Filters that order or compare items by a key (an attribute path), with Python's ordering
/// and its errors for values it cannot compare.
fn sorting_filters(name: &str) -> Option<FilterFn> {
    let run: FilterFn = match name {
        "dictsort" => dictsort_filter,
        "sort" => sort_filter,
        "groupby" => groupby_filter,
        "unique" => unique_filter,
        "max" | "min" => max_min_filter,
        _ => return None,
    };
    Some(run)
}

/// Filters that compute with numbers, with Python's conversions and arithmetic.
fn number_filters(name: &str) -> Option<FilterFn> {
    let run: FilterFn = match name {
        "abs" => |name, value, args| {
            bind(name, args, &[], 0)?;
            match number(&value) {
                Some(Number::Int(i)) => Ok(Value::from(i.abs())),
                Some(Number::Float(f)) => Ok(Value::from(f.abs())),
                None => Err(fail(format!(
                    "TypeError: bad operand type for abs(): '{}'",
                    python::type_name(&value)
                ))),
            }
        },
        "float" => |name, value, args| {
            let b = bind(name, args, &["default"], 0)?;
            Ok(match parse_float(&value) {
                Some(f) => Value::from(f),
                None => b[0].clone().unwrap_or(Value::from(0.0)),
            })
        },
        "int" => |name, value, args| {
            let b = bind(name, args, &["default", "base"], 0)?;
            let base = int_param(&b[1], 10, "base")?;
            Ok(match parse_int(&value, base) {
                Some(i) => Value::from(i),
                None => b[0].clone().unwrap_or(Value::from(0)),
            })
        },
        "round" => |name, value, args| {
            let b = bind(name, args, &["precision", "method"], 0)?;
            let precision = int_param(&b[0], 0, "precision")?;
            let method = b[1].as_ref().map(text).unwrap_or_else(|| "common".into());
            round(&value, precision, &method)
        },
        "sum" => |name, value, args| {
            let b = bind(name, args, &["attribute", "start"], 0)?;
            let get = attr_getter(b[0].as_ref(), None, false);
            let mut total = b[1].clone().unwrap_or(Value::from(0));
            for item in items_of(&value)? {
                total = add(&total, &get(&item)?)?;
            }
            Ok(total)
        },
        "filesizeformat" => filesizeformat_filter,
        _ => return None,
    };
    Some(run)
}

/// `batch(linecount, fill_with)`: rows of `linecount` items, the last one filled up only when
/// `fill_with` is given, as Jinja2 yields them.
fn batch_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["linecount", "fill_with"], 1)?;
    let size = int_param(&b[0], 1, "linecount")?.max(1) as usize;
    let mut rows: Vec<Value> = Vec::new();
    let mut row: Vec<Value> = Vec::new();
    for item in items_of(&value)? {
        if row.len() == size {
            rows.push(Value::from(std::mem::take(&mut row)));
        }
        row.push(item);
    }
    if !row.is_empty() {
        if let Some(fill) = b[1].as_ref().filter(|f| !f.is_none()) {
            while row.len() < size {
                row.push(fill.clone());
            }
        }
        rows.push(Value::from(row));
    }
    Ok(Value::from(rows))
}

/// `dictsort(case_sensitive, by, reverse)`: a dict's `(key, value)` pairs sorted by key or
/// value, ignoring case unless asked, with Jinja2's errors for anything but a dict.
fn dictsort_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["case_sensitive", "by", "reverse"], 0)?;
    if value.kind() != ValueKind::Map {
        return Err(fail(format!(
            "AttributeError: '{}' object has no attribute 'items'",
            python::type_name(&value)
        )));
    }
    let by_value = match b[1].as_ref().and_then(|v| v.as_str().map(str::to_owned)) {
        None => false,
        Some(by) if by == "key" => false,
        Some(by) if by == "value" => true,
        Some(_) => {
            return Err(fail(
                "FilterArgumentError: You can only sort by either \"key\" or \"value\"",
            ))
        }
    };
    let ignore_case = !flag(&b[0]);
    let mut pairs: Vec<(Value, Value)> = value
        .try_iter()?
        .map(|key| {
            let item = value.get_item(&key).unwrap_or_default();
            let sort_key = if by_value { item.clone() } else { key.clone() };
            let sort_key = if ignore_case {
                lower_if_text(sort_key)
            } else {
                sort_key
            };
            (sort_key, python::tuple(vec![key, item]))
        })
        .collect();
    sort_values(&mut pairs, flag(&b[2]))?;
    Ok(Value::from(
        pairs.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
    ))
}

/// `filesizeformat(binary)`: a byte count in decimal (kB) or binary (KiB) units, as Jinja2
/// words it (`1 Byte`, `n Bytes`, then one decimal).
fn filesizeformat_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["binary"], 0)?;
    let bytes = to_float(&value)?;
    let binary = flag(&b[0]);
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if bytes == 1.0 {
        return Ok(Value::from("1 Byte"));
    }
    if bytes < base {
        return Ok(Value::from(format!("{} Bytes", bytes.trunc() as i128)));
    }
    let mut unit = base;
    let mut prefix = prefixes[0];
    for (i, p) in prefixes.iter().enumerate() {
        unit = base.powi(i as i32 + 2);
        prefix = p;
        if bytes < unit {
            break;
        }
    }
    Ok(Value::from(format!("{:.1} {prefix}", base * bytes / unit)))
}

/// `format(*args, **kwargs)`: Python's `%` formatting, with either positional or keyword
/// arguments (Jinja2 refuses both at once).
fn format_filter(_name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let (positional, kwargs): (&[Value], minijinja::value::Kwargs) =
        minijinja::value::from_args(args)?;
    let names: Vec<String> = kwargs.args().map(str::to_owned).collect();
    if !positional.is_empty() && !names.is_empty() {
        return Err(fail(
            "FilterArgumentError: can't handle positional and keyword arguments at the same time",
        ));
    }
    let format = text(&value);
    let result = if names.is_empty() {
        python::percent_format(&format, PercentArgs::Tuple(positional))
    } else {
        let mapping = Value::from_iter(
            names
                .iter()
                .map(|n| Ok((Value::from(n.as_str()), kwargs.get::<Value>(n)?)))
                .collect::<Result<Vec<_>, Error>>()?,
        );
        python::percent_format(&format, PercentArgs::Single(&mapping))
    };
    result.map(Value::from).map_err(fail)
}

/// `groupby(attribute, default, case_sensitive)`: sorted groups of items with equal keys, each
/// a `(grouper, list)` named tuple whose grouper keeps its original case.
fn groupby_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["attribute", "default", "case_sensitive"], 1)?;
    let default = b[1].clone().filter(|d| !d.is_none());
    let key = attr_getter(b[0].as_ref(), default.clone(), !flag(&b[2]));
    let real_key = attr_getter(b[0].as_ref(), default, false);
    let mut keyed: Vec<(Value, Value)> = items_of(&value)?
        .into_iter()
        .map(|item| Ok((key(&item)?, item)))
        .collect::<Result<_, Error>>()?;
    sort_values(&mut keyed, false)?;
    let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
    for (k, item) in keyed {
        match groups.last_mut() {
            Some((last, members)) if super::predicates::equal(last, &k) => members.push(item),
            _ => groups.push((k, vec![item])),
        }
    }
    let groups = groups
        .into_iter()
        .map(|(_, members)| {
            let grouper = real_key(&members[0])?;
            Ok(python::named_tuple(
                vec![grouper, Value::from(members)],
                &["grouper", "list"],
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Value::from(groups))
}

/// `indent(width, first, blank)`: every line but the first (and blank lines unless `blank`)
/// indented by spaces or a given text; safe text stays safe.
fn indent_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["width", "first", "blank"], 0)?;
    let Some(source) = value.as_str() else {
        return Err(fail(format!(
            "TypeError: unsupported operand type(s) for +=: '{}' and 'str'",
            python::type_name(&value)
        )));
    };
    let indention = match &b[0] {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        w => " ".repeat(int_param(w, 4, "width")?.max(0) as usize),
    };
    let source = format!("{source}\n");
    let lines = methods::split_lines(&source, false);
    let mut out = if flag(&b[2]) {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut out = lines[0].to_string();
        for line in &lines[1..] {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&indention);
            }
            out.push_str(line);
        }
        out
    };
    if flag(&b[1]) {
        out = format!("{indention}{out}");
    }
    Ok(if value.is_safe() {
        Value::from_safe_string(out)
    } else {
        Value::from(out)
    })
}

/// `max`/`min(case_sensitive, attribute)`: the first item with the greatest or least key, in
/// Python's order, undefined for an empty sequence.
fn max_min_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["case_sensitive", "attribute"], 0)?;
    let key = attr_getter(b[1].as_ref(), None, !flag(&b[0]));
    let mut best: Option<(Value, Value)> = None;
    for item in items_of(&value)? {
        let k = key(&item)?;
        let better = match &best {
            None => true,
            Some((best_key, _)) => {
                let order = compare(&k, best_key)?;
                if name == "max" {
                    order.is_gt()
                } else {
                    order.is_lt()
                }
            }
        };
        if better {
            best = Some((k, item));
        }
    }
    Ok(best.map(|(_, item)| item).unwrap_or(Value::UNDEFINED))
}

/// `slice(slices, fill_with)`: the items cut into `slices` columns, the first ones one longer,
/// as Jinja2 spreads the remainder.
fn slice_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["slices", "fill_with"], 1)?;
    let slices = int_param(&b[0], 1, "slices")?;
    if slices <= 0 {
        return Err(fail(
            "ZeroDivisionError: integer division or modulo by zero",
        ));
    }
    let slices = slices as usize;
    let seq = items_of(&value)?;
    let per_slice = seq.len() / slices;
    let with_extra = seq.len() % slices;
    let fill = b[1].clone().filter(|f| !f.is_none());
    let mut offset = 0;
    let mut out = Vec::new();
    for number in 0..slices {
        let start = offset + number * per_slice;
        if number < with_extra {
            offset += 1;
        }
        let end = offset + (number + 1) * per_slice;
        let mut part: Vec<Value> = seq[start.min(seq.len())..end.min(seq.len())].to_vec();
        if let (Some(fill), true) = (&fill, number >= with_extra) {
            part.push(fill.clone());
        }
        out.push(Value::from(part));
    }
    Ok(Value::from(out))
}

/// `sort(reverse, case_sensitive, attribute)`: a stable sort by one key or by several
/// comma-separated attributes, ignoring case unless asked.
fn sort_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["reverse", "case_sensitive", "attribute"], 0)?;
    let ignore_case = !flag(&b[1]);
    let getters: Vec<_> = match b[2].as_ref().and_then(|a| a.as_str().map(str::to_owned)) {
        Some(attrs) => attrs
            .split(',')
            .map(|a| attr_getter(Some(&Value::from(a)), None, ignore_case))
            .collect(),
        None => vec![attr_getter(b[2].as_ref(), None, ignore_case)],
    };
    let mut keyed: Vec<(Value, Value)> = items_of(&value)?
        .into_iter()
        .map(|item| {
            let keys = getters
                .iter()
                .map(|g| g(&item))
                .collect::<Result<Vec<_>, _>>()?;
            let key = if keys.len() == 1 {
                keys.into_iter().next().expect("one key")
            } else {
                Value::from(keys)
            };
            Ok((key, item))
        })
        .collect::<Result<_, Error>>()?;
    sort_values(&mut keyed, flag(&b[0]))?;
    Ok(Value::from(
        keyed.into_iter().map(|(_, item)| item).collect::<Vec<_>>(),
    ))
}

/// `truncate(length, killwords, end, leeway)`: text cut at a word boundary (or mid-word with
/// `killwords`) once it exceeds `length + leeway`, with Jinja2's assertions on the arguments.
fn truncate_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["length", "killwords", "end", "leeway"], 0)?;
    let Some(source) = value.as_str() else {
        if value.is_undefined() {
            return Ok(value);
        }
        return Err(fail(format!(
            "TypeError: object of type '{}' has no len()",
            python::type_name(&value)
        )));
    };
    let length = int_param(&b[0], 255, "length")?;
    let end = b[2].as_ref().map(text).unwrap_or_else(|| "...".into());
    let leeway = match &b[3] {
        Some(l) if !l.is_none() => int_param(&b[3], 5, "leeway")?,
        _ => 5,
    };
    let end_len = end.chars().count() as i64;
    if length < end_len - 1 {
        return Err(fail("AssertionError: expected length >= len(end)"));
    }
    if leeway < 0 {
        return Err(fail("AssertionError: expected leeway >= 0"));
    }
    let chars: Vec<char> = source.chars().collect();
    if chars.len() as i64 <= length + leeway {
        return Ok(value);
    }
    let keep = (length - end_len).max(0) as usize;
    let head: String = chars[..keep.min(chars.len())].iter().collect();
    if flag(&b[1]) {
        return Ok(Value::from(head + &end));
    }
    let head = match head.rsplit_once(' ') {
        Some((before, _)) => before.to_string(),
        None => head,
    };
    Ok(Value::from(head + &end))
}

/// `unique(case_sensitive, attribute)`: the first item of each key, refusing keys Python
/// could not hash.
fn unique_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    let b = bind(name, args, &["case_sensitive", "attribute"], 0)?;
    let key = attr_getter(b[1].as_ref(), None, !flag(&b[0]));
    let mut seen: Vec<Value> = Vec::new();
    let mut seen_text: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for item in items_of(&value)? {
        let k = key(&item)?;
        if matches!(k.kind(), ValueKind::Map | ValueKind::Seq)
            && k.downcast_object_ref::<Tuple>().is_none()
        {
            return Err(fail(format!(
                "TypeError: unhashable type: '{}'",
                python::type_name(&k)
            )));
        }
        let new = match k.as_str() {
            Some(t) => seen_text.insert(t.to_string()),
            None if seen.iter().any(|s| super::predicates::equal(s, &k)) => false,
            None => {
                seen.push(k);
                true
            }
        };
        if new {
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

/// `wordcount`: runs of word characters (`\w+`), as Jinja2's regular expression counts them.
fn wordcount_filter(name: &str, value: Value, args: &[Value]) -> Result<Value, Error> {
    bind(name, args, &[], 0)?;
    let source = text(&value);
    let mut count = 0;
    let mut in_word = false;
    for c in source.chars() {
        let word = c.is_alphanumeric() || c == '_';
        if word && !in_word {
            count += 1;
        }
        in_word = word;
    }
    Ok(Value::from(count))
}

/// Python's `float(value)`, or `None` where it raises.
fn parse_float(value: &Value) -> Option<f64> {
    match number(value) {
        Some(Number::Int(i)) => Some(i as f64),
        Some(Number::Float(f)) => Some(f),
        None => {
            let text = value.as_str()?;
            let text = methods::strip(text, None, true, true)
                .ok()?
                .replace('_', "");
            match text.to_ascii_lowercase().trim_start_matches(['+', '-']) {
                "inf" | "infinity" => {
                    return Some(if text.starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    })
                }
                "nan" => return Some(f64::NAN),
                _ => {}
            }
            if text.is_empty()
                || !text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            {
                return None;
            }
            text.parse().ok()
        }
    }
}

fn to_float(value: &Value) -> Result<f64, Error> {
    match value.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            parse_float(value).ok_or_else(|| {
                fail(format!(
                    "ValueError: could not convert string to float: {}",
                    {
                        let mut r = String::new();
                        python::repr(value, &mut r);
                        r
                    }
                ))
            })
        }
        _ => Err(fail(format!(
            "TypeError: float() argument must be a string or a real number, not '{}'",
            python::type_name(value)
        ))),
    }
}

/// Jinja2's `int` filter: `int(value, base)` for text, `int(value)` otherwise, then
/// `int(float(value))`; `None` where all of them fail.
fn parse_int(value: &Value, base: i64) -> Option<i128> {
    match number(value) {
        Some(Number::Int(i)) => return Some(i),
        Some(Number::Float(f)) => return (f.is_finite()).then(|| f.trunc() as i128),
        None => {}
    }
    let text = value.as_str()?;
    let trimmed = methods::strip(text, None, true, true).ok()?;
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let digits = match base {
        16 => digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
            .unwrap_or(digits),
        8 => digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .unwrap_or(digits),
        2 => digits
            .strip_prefix("0b")
            .or_else(|| digits.strip_prefix("0B"))
            .unwrap_or(digits),
        _ => digits,
    };
    let valid_underscores =
        !digits.starts_with('_') && !digits.ends_with('_') && !digits.contains("__");
    if (2..=36).contains(&base) && !digits.is_empty() && valid_underscores {
        if let Ok(n) = i128::from_str_radix(&digits.replace('_', ""), base as u32) {
            return Some(if negative { -n } else { n });
        }
    }
    let f = parse_float(value)?;
    f.is_finite().then(|| f.trunc() as i128)
}

/// Jinja2's `round(value, precision, method)`.
fn round(value: &Value, precision: i64, method: &str) -> Result<Value, Error> {
    if !matches!(method, "common" | "ceil" | "floor") {
        return Err(fail(
            "FilterArgumentError: method must be common, ceil or floor",
        ));
    }
    let Some(n) = number(value) else {
        return Err(fail(format!(
            "TypeError: type {} doesn't define __round__ method",
            python::type_name(value)
        )));
    };
    if method == "common" {
        return Ok(match n {
            // round(int, ndigits) stays an int.
            Number::Int(i) if precision >= 0 => Value::from(i),
            Number::Int(i) => {
                let unit = 10i128.pow((-precision) as u32);
                let (q, r) = (i.div_euclid(unit), i.rem_euclid(unit));
                let up = r * 2 > unit || (r * 2 == unit && q % 2 != 0);
                Value::from((q + i128::from(up)) * unit)
            }
            Number::Float(f) => Value::from(python_round(f, precision)),
        });
    }
    let f = match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    };
    let scale = 10f64.powi(precision as i32);
    let scaled = f * scale;
    let rounded = if method == "ceil" {
        scaled.ceil()
    } else {
        scaled.floor()
    };
    Ok(Value::from(rounded / scale))
}

/// Python's `round(float, ndigits)`: correctly rounded, ties to even on the exact value.
fn python_round(value: f64, digits: i64) -> f64 {
    if !value.is_finite() {
        return value;
    }
    if digits >= 0 {
        let digits = digits.min(330) as usize;
        format!("{value:.digits$}").parse().unwrap_or(value)
    } else {
        let scale = 10f64.powi((-digits) as i32);
        let shifted = value / scale;
        let rounded = shifted.round();
        let rounded = if (shifted - shifted.trunc()).abs() == 0.5 {
            2.0 * (shifted / 2.0).round()
        } else {
            rounded
        };
        rounded * scale
    }
}

/// Python's `a + b` for `sum`.
fn add(a: &Value, b: &Value) -> Result<Value, Error> {
    match (number(a), number(b)) {
        (Some(Number::Int(x)), Some(Number::Int(y))) => x
            .checked_add(y)
            .map(Value::from)
            .ok_or_else(|| fail("OverflowError: the sum does not fit in 128 bits")),
        (Some(x), Some(y)) => {
            let f = |n: Number| match n {
                Number::Int(i) => i as f64,
                Number::Float(f) => f,
            };
            Ok(Value::from(f(x) + f(y)))
        }
        _ => Err(fail(format!(
            "TypeError: unsupported operand type(s) for +: '{}' and '{}'",
            python::type_name(a),
            python::type_name(b)
        ))),
    }
}

/// Jinja2's `title`: each word (after `-`, whitespace or an opening bracket) capitalised.
fn jinja_title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut item = String::new();
    let flush = |item: &mut String, out: &mut String| {
        let mut chars = item.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(&chars.as_str().to_lowercase());
        }
        item.clear();
    };
    let separator =
        |c: char| c == '-' || methods::is_space(c) || matches!(c, '(' | '{' | '[' | '<');
    let mut in_separator = false;
    for c in text.chars() {
        let sep = separator(c);
        if sep != in_separator {
            if in_separator {
                out.push_str(&item);
                item.clear();
            } else {
                flush(&mut item, &mut out);
            }
            in_separator = sep;
        }
        item.push(c);
    }
    if in_separator {
        out.push_str(&item);
    } else {
        flush(&mut item, &mut out);
    }
    out
}

/// markupsafe's `Markup.striptags`: comments and tags removed, whitespace collapsed, entities
/// unescaped. Only the common entities are known; text with another is refused.
fn striptags(source: &str) -> Result<String, Error> {
    let mut value = source.to_string();
    while let Some(start) = value.find("<!--") {
        let Some(end) = value[start..].find("-->") else {
            break;
        };
        value.replace_range(start..start + end + 3, "");
    }
    while let Some(start) = value.find('<') {
        let Some(end) = value[start..].find('>') else {
            break;
        };
        value.replace_range(start..start + end + 1, "");
    }
    let collapsed = value
        .split(methods::is_space)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    unescape(&collapsed)
}

/// `html.unescape` for numeric references and the entities HTML text commonly has.
fn unescape(text: &str) -> Result<String, Error> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1)
            .unwrap_or(rest.len());
        let name = &rest[1..end];
        let terminated = rest[end..].starts_with(';');
        let decoded = if let Some(number) = name.strip_prefix('#') {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => number.parse().ok(),
            };
            code.map(|c| char::from_u32(c).unwrap_or('\u{fffd}').to_string())
        } else {
            match name {
                "amp" => Some("&".into()),
                "lt" => Some("<".into()),
                "gt" => Some(">".into()),
                "quot" => Some("\"".into()),
                "apos" if terminated => Some("'".into()),
                "nbsp" => Some("\u{a0}".into()),
                "" => None,
                _ => {
                    return Err(fail(format!(
                        "striptags: the entity &{name}; is not known here (only &amp; &lt; &gt; &quot; &apos; &nbsp; and numeric ones)"
                    )))
                }
            }
        };
        match decoded {
            Some(text) => {
                out.push_str(&text);
                rest = &rest[end + usize::from(terminated)..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `urllib.parse.quote_from_bytes` with Jinja2's safe set: `/` kept except in query strings,
/// spaces as `+` there.
fn url_quote(value: &Value, for_query: bool) -> String {
    let text = text(value);
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || (b == b'/' && !for_query) {
            out.push(b as char);
        } else if b == b' ' && for_query {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn urlencode(value: &Value) -> Result<String, Error> {
    let pairs: Vec<Value> = match value.kind() {
        ValueKind::String | ValueKind::None | ValueKind::Number | ValueKind::Bool => {
            return Ok(url_quote(value, false))
        }
        ValueKind::Map => python::dict_view(value.clone(), DictViewKind::Items)
            .try_iter()?
            .collect(),
        _ => items_of(value)?,
    };
    let mut parts = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let items = items_of(&pair)?;
        let [k, v] = &items[..] else {
            return Err(fail(format!(
                "ValueError: too many values to unpack (expected 2, got {})",
                items.len()
            )));
        };
        parts.push(format!("{}={}", url_quote(k, true), url_quote(v, true)));
    }
    Ok(parts.join("&"))
}

/// Jinja2's `tojson(indent=None)`: `json.dumps(value, sort_keys=True)` with `<`, `>`, `&`, `'`
/// escaped so the result is safe inside HTML and single-quoted attributes.
fn tojson(value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    let b = bind("tojson", &args, &["indent"], 0)?;
    let indent = match &b[0] {
        Some(i) if !i.is_none() => Some(int_param(&b[0], 0, "indent")?.max(0) as usize),
        _ => None,
    };
    check_json(value)?;
    let invalid =
        |e: serde_json::Error| fail("TypeError: the value is not JSON serializable").with_source(e);
    let json = sort_keys(serde_json::to_value(value).map_err(invalid)?);
    let bytes = python::json_dumps(&json, indent).map_err(invalid)?;
    let text = String::from_utf8(bytes).expect("json.dumps writes ASCII");
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\'' => safe.push_str("\\u0027"),
            c => safe.push(c),
        }
    }
    Ok(Value::from_safe_string(safe))
}

/// What `json.dumps` refuses: undefined values, dict views, anything not data.
fn check_json(value: &Value) -> Result<(), Error> {
    let refuse = |name: &str| {
        fail(format!(
            "TypeError: Object of type {name} is not JSON serializable"
        ))
    };
    match value.kind() {
        ValueKind::Undefined => Err(refuse("Undefined")),
        ValueKind::Seq | ValueKind::Map => {
            for item in value.try_iter()? {
                check_json(&item)?;
                if value.kind() == ValueKind::Map {
                    check_json(&value.get_item(&item)?)?;
                }
            }
            Ok(())
        }
        ValueKind::Iterable => Err(refuse(python::type_name(value))),
        ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::String => Ok(()),
        _ => Err(refuse("object")),
    }
}

fn sort_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
