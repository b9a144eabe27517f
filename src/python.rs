//! Python's text for values, byte for byte: `repr()` and `str()`, `json.dumps`, float `repr`,
//! `pprint.pformat` and `%` string formatting. Two kinds of value are written:
//!
//! - JSON values (`serde_json::Value`), for RQ's job descriptions
//!   (`extras.webhooks.send_webhook(webhook='x', data={'id': 1})`) and webhook bodies;
//! - template values (`minijinja::Value`), for what a Jinja2 template prints. Jinja2 makes tuples
//!   in places (`dictsort`, `items`, `groupby`, `dict.items()`, `(a, b)`); [`tuple`] makes a value
//!   that behaves as a list in templates and prints as Python prints a tuple.
//!
//! The oracle is Python 3.11 (`scripts/test.sh`'s virtualenv): the tests run it and compare.
//! This module knows nothing else of the crate.

mod percent;
mod pformat;
mod printable;

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use serde::Serialize;
use serde_json::ser::Formatter;

pub use percent::{percent_format, PercentArgs};
pub use pformat::pformat;

/// `json.dumps(value)`, or `json.dumps(value, indent=n)`: `", "` and `": "` separators (`","`
/// and newlines with an indent), non-ASCII escaped as `\uXXXX`, floats as `repr()` prints them.
pub fn json_dumps<T: Serialize + ?Sized>(
    value: &T,
    indent: Option<usize>,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let formatter = JsonFormatter {
        indent: indent.map(|n| vec![b' '; n]),
        depth: 0,
        has_value: false,
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

/// `repr(float)`: the shortest digits that round-trip, positional for exponents -4 to 15 and
/// scientific outside (`1e+16`, `2.5e-07`); `nan`, `inf`, `-inf`.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "-1.5e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::from(sign);
    if !(-4..16).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        out.push_str(&format!("e{exp_sign}{:02}", exponent.abs()));
    } else if exponent < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
        out.push_str(&digits);
    } else {
        let point = exponent as usize + 1;
        if digits.len() > point {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
            out.push_str(".0");
        }
    }
    out
}

/// `str.isprintable()` for one character: what `repr()` leaves unescaped outside ASCII.
pub fn is_printable(c: char) -> bool {
    let c = c as u32;
    printable::NON_PRINTABLE
        .binary_search_by(|&(start, end)| {
            if end < c {
                std::cmp::Ordering::Less
            } else if start > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

/// `repr(text)`: single quotes unless the text has a `'` and no `"`; backslash escapes for the
/// quote, `\\`, `\t`, `\n`, `\r`; `\xNN`, `\uNNNN` or `\UNNNNNNNN` for what is not printable.
pub fn str_repr(text: &str, out: &mut String) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.reserve(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if !c.is_ascii() && is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
}

/// `repr()` of a JSON value as Python's `json.loads` gives it: `None`, `True`, `1.5`, `'a'`,
/// `[1, 2]`, `{'a': 1}`.
pub fn json_repr(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as Json;
    match value {
        Json::Null => out.push_str("None"),
        Json::Bool(true) => out.push_str("True"),
        Json::Bool(false) => out.push_str("False"),
        Json::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Json::String(s) => str_repr(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_repr(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                str_repr(key, out);
                out.push_str(": ");
                json_repr(item, out);
            }
            out.push('}');
        }
    }
}

/// `str()` of a template value, as Jinja2 prints `{{ value }}`: text as it is, undefined as
/// nothing, everything else as [`repr`].
pub fn str(value: &Value) -> Cow<'_, str> {
    match value.kind() {
        ValueKind::String => Cow::Borrowed(value.as_str().unwrap_or_default()),
        ValueKind::Undefined => Cow::Borrowed(""),
        _ => {
            let mut out = String::new();
            repr(value, &mut out);
            Cow::Owned(out)
        }
    }
}

/// `repr()` of a template value: lists, tuples ([`tuple`]), dicts and dict views
/// ([`DictView`]) as Python writes them; text marked safe as `Markup('…')`; an undefined value
/// as `Undefined`, as Jinja2's default `Undefined` does.
pub fn repr(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::Undefined => out.push_str("Undefined"),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number if value.is_integer() => out.push_str(&value.to_string()),
        ValueKind::Number => out.push_str(&float_repr(
            f64::try_from(value.clone()).unwrap_or(f64::NAN),
        )),
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            if value.is_safe() {
                out.push_str("Markup(");
                str_repr(text, out);
                out.push(')');
            } else {
                str_repr(text, out);
            }
        }
        ValueKind::Seq | ValueKind::Iterable => {
            if let Some(tuple) = value.downcast_object_ref::<Tuple>() {
                tuple.write_repr(out);
            } else if let Some(view) = value.downcast_object_ref::<DictView>() {
                view.write_repr(out);
            } else {
                out.push('[');
                write_items(value.try_iter().into_iter().flatten(), out);
                out.push(']');
            }
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr(&key, out);
                out.push_str(": ");
                repr(&value.get_item(&key).unwrap_or_default(), out);
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
}

/// Python's name for the type of a template value, as error messages name it.
pub fn type_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "Undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String if value.is_safe() => "Markup",
        ValueKind::String => "str",
        ValueKind::Map => "dict",
        _ if value.downcast_object_ref::<Tuple>().is_some() => "tuple",
        _ => match value
            .downcast_object_ref::<DictView>()
            .map(|view| view.kind)
        {
            Some(DictViewKind::Keys) => "dict_keys",
            Some(DictViewKind::Values) => "dict_values",
            Some(DictViewKind::Items) => "dict_items",
            None => "list",
        },
    }
}

fn write_items(items: impl Iterator<Item = Value>, out: &mut String) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        repr(&item, out);
    }
}

/// A Python tuple in a template: a sequence that prints as `(1, 'a')` or `(1,)`. `fields`
/// names the items for tuples Jinja2 makes with names (`groupby`'s `grouper` and `list`).
#[derive(Debug, Clone)]
pub struct Tuple {
    items: Vec<Value>,
    fields: &'static [&'static str],
}

/// A tuple of `items`.
pub fn tuple(items: Vec<Value>) -> Value {
    Value::from_object(Tuple { items, fields: &[] })
}

/// A tuple whose items can also be read by name, as Python's named tuples.
pub fn named_tuple(items: Vec<Value>, fields: &'static [&'static str]) -> Value {
    Value::from_object(Tuple { items, fields })
}

impl Tuple {
    /// The items.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    fn write_repr(&self, out: &mut String) {
        out.push('(');
        write_items(self.items.iter().cloned(), out);
        if self.items.len() == 1 {
            out.push(',');
        }
        out.push(')');
    }
}

impl Object for Tuple {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if let Some(name) = key.as_str() {
            let at = self.fields.iter().position(|field| *field == name)?;
            return self.items.get(at).cloned();
        }
        self.items.get(key.as_usize()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.items.len())
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_repr(&mut out);
        f.write_str(&out)
    }
}

/// Which view of a dict a [`DictView`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictViewKind {
    /// `dict.keys()`.
    Keys,
    /// `dict.values()`.
    Values,
    /// `dict.items()`: `(key, value)` tuples.
    Items,
}

/// `dict.keys()`, `dict.values()` or `dict.items()` in a template: iterable (not indexable, as
/// in Python) and printed as `dict_items([('a', 1)])`.
#[derive(Debug, Clone)]
pub struct DictView {
    map: Value,
    kind: DictViewKind,
}

/// A view of `map`, which must be a mapping.
pub fn dict_view(map: Value, kind: DictViewKind) -> Value {
    Value::from_object(DictView { map, kind })
}

impl DictView {
    /// Which view this is.
    pub fn kind(&self) -> DictViewKind {
        self.kind
    }

    fn values(&self) -> Vec<Value> {
        let keys = self.map.try_iter().into_iter().flatten();
        match self.kind {
            DictViewKind::Keys => keys.collect(),
            DictViewKind::Values => keys
                .map(|key| self.map.get_item(&key).unwrap_or_default())
                .collect(),
            DictViewKind::Items => keys
                .map(|key| {
                    let value = self.map.get_item(&key).unwrap_or_default();
                    tuple(vec![key, value])
                })
                .collect(),
        }
    }

    fn write_repr(&self, out: &mut String) {
        out.push_str(match self.kind {
            DictViewKind::Keys => "dict_keys([",
            DictViewKind::Values => "dict_values([",
            DictViewKind::Items => "dict_items([",
        });
        write_items(self.values().into_iter(), out);
        out.push_str("])");
    }
}

impl Object for DictView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.values())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.map.len()
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_repr(&mut out);
        f.write_str(&out)
    }
}

/// A `serde_json` formatter with Python's separators, escaping and float format.
struct JsonFormatter {
    indent: Option<Vec<u8>>,
    depth: usize,
    has_value: bool,
}

impl JsonFormatter {
    fn newline<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        if let Some(indent) = &self.indent {
            writer.write_all(b"\n")?;
            for _ in 0..self.depth {
                writer.write_all(indent)?;
            }
        }
        Ok(())
    }

    fn separator<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        match (first, &self.indent) {
            (true, None) => Ok(()),
            (false, None) => writer.write_all(b", "),
            (first, Some(_)) => {
                if !first {
                    writer.write_all(b",")?;
                }
                self.newline(writer)
            }
        }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer)?;
        }
        self.has_value = true;
        writer.write_all(bracket)
    }
}

impl Formatter for JsonFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let text = match float_repr(value).as_str() {
            "nan" => "NaN".to_string(),
            "inf" => "Infinity".to_string(),
            "-inf" => "-Infinity".to_string(),
            text => text.to_string(),
        };
        writer.write_all(text.as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if (' '..='~').contains(&c) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dumps(value: &serde_json::Value, indent: Option<usize>) -> String {
        String::from_utf8(json_dumps(value, indent).unwrap()).unwrap()
    }

    // Expected strings are what Python 3.11 prints; tests/python_format.rs asks Python itself.

    #[test]
    fn separators_and_escapes_match_json_dumps() {
        let value = json!({"a": [1, 2.5, null, true], "b": {}, "c": [], "d": "é\u{1F600}\n\"\\/\u{7f}\u{1}"});
        assert_eq!(
            dumps(&value, None),
            r#"{"a": [1, 2.5, null, true], "b": {}, "c": [], "d": "\u00e9\ud83d\ude00\n\"\\/\u007f\u0001"}"#
        );
        assert_eq!(
            dumps(&json!({"a": [1, {"b": []}], "c": {}}), Some(2)),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"
        );
    }

    #[test]
    fn floats_print_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789.125, "123456789.125"),
            (-3.25e-300, "-3.25e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
        ];
        for (value, repr) in cases {
            assert_eq!(float_repr(value), repr, "{value:e}");
        }
    }

    #[test]
    fn reprs_of_json_and_template_values_agree() {
        let value = json!({"s": "it's", "q": "\"'", "n": null, "b": [true, false], "f": 1e16,
                           "u": "é\u{a0}\u{200b}\u{1F600}\u{7}", "i": -5, "big": 18446744073709551615u64});
        let mut from_json = String::new();
        json_repr(&value, &mut from_json);
        assert_eq!(
            from_json,
            r#"{'s': "it's", 'q': '"\'', 'n': None, 'b': [True, False], 'f': 1e+16, 'u': 'é\xa0\u200b😀\x07', 'i': -5, 'big': 18446744073709551615}"#
        );
        assert_eq!(str(&Value::from_serialize(&value)), from_json);
    }

    #[test]
    fn tuples_and_views_print_as_python_does() {
        let pair = tuple(vec![Value::from("a"), Value::from(1)]);
        assert_eq!(str(&pair), "('a', 1)");
        assert_eq!(str(&tuple(vec![Value::from(1)])), "(1,)");
        assert_eq!(str(&tuple(vec![])), "()");
        let map = Value::from_serialize(json!({"a": 1, "b": [2]}));
        assert_eq!(
            str(&dict_view(map.clone(), DictViewKind::Items)),
            "dict_items([('a', 1), ('b', [2])])"
        );
        assert_eq!(
            str(&dict_view(map, DictViewKind::Keys)),
            "dict_keys(['a', 'b'])"
        );
        let group = named_tuple(
            vec![Value::from("x"), Value::from(vec![1])],
            &["grouper", "list"],
        );
        assert_eq!(group.get_attr("grouper").unwrap(), Value::from("x"));
        assert_eq!(str(&group), "('x', [1])");
        assert_eq!(str(&Value::from_safe_string("<b>".into())), "<b>");
        assert_eq!(
            str(&Value::from(vec![Value::from_safe_string("<b>".into())])),
            "[Markup('<b>')]"
        );
        assert_eq!(str(&Value::UNDEFINED), "");
        assert_eq!(str(&Value::from(vec![Value::UNDEFINED])), "[Undefined]");
    }
}
