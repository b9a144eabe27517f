//! NetBox's event rule condition language (`extras/conditions.py` on `main`), with the same
//! results, including Python's comparison rules.
//!
//! A condition is `{"attr": "status.value", "value": "active", "op": "eq", "negate": false}`.
//! Conditions combine in `{"and": [...]}` / `{"or": [...]}` groups nested to any depth, and a
//! lone condition needs no group. Evaluation follows Python:
//! - `eq` is Python `==` on JSON values: `1 == 1.0` and `true == 1` hold (a Python `bool` is an
//!   `int`), lists and objects compare item by item.
//! - `gt`/`gte`/`lt`/`lte` compare numbers (booleans count as 0 and 1); any other data is a
//!   Python `TypeError`.
//! - `in` is `data in value`, `contains` is `value in data`: a substring for strings,
//!   membership for lists, key membership for objects, a `TypeError` for anything else.
//! - `regex` is `re.match`: the pattern must match at the start of the string.
//! - A dotted `attr` walks objects, maps over lists (`tags.slug` gives every tag's slug) and
//!   treats a falsy intermediate such as `null` as `{}`.
//!
//! A missing key or a `TypeError` makes the whole set invalid ([`InvalidCondition`]), and the
//! rule does not match, unless an `and`/`or` already stopped before reaching it, as Python's
//! `all()`/`any()` over a generator do.
//!
//! Where NetBox crashes instead of deciding, we decide, and say so here:
//! - Parsing: NetBox raises an uncaught `TypeError`/`KeyError` for a non-list group, a non-object
//!   or incomplete condition inside a group, or an upper-case `AND` key; we report a
//!   [`ConditionError`]. An `attr` that is not a string, a `negate` that is not a boolean, and a
//!   `regex` pattern that does not compile are also reported at load, where NetBox fails (or, for
//!   `negate`, uses Python truthiness) only when the rule runs.
//! - Evaluation: walking a path into a non-empty string, a number or `true` raises an uncaught
//!   `TypeError` in NetBox; here it is an [`InvalidCondition`], so the rule does not match.
//!
//! Patterns use the `regex` crate, whose syntax is close to Python's `re` for what conditions
//! need. Differences: look-around and backreferences are not supported (such patterns are refused
//! at load); `$` matches only at the very end, where Python's also matches before a final `\n`;
//! Python's `\Z` is written `\z`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

const AND: &str = "and";
const OR: &str = "or";
const OPERATORS: &str = "eq, gt, gte, lt, lte, in, contains, regex";
const INCORRECT_KEYS: &str = "Incorrect key(s) informed. Please check documentation.";

/// A condition set that cannot be used, found when the rule is loaded. The message is NetBox's
/// where NetBox has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConditionError(String);

/// A condition that could not be evaluated against this data: a missing key or a type mismatch.
/// The rule does not match, as in NetBox's `EventRule.eval_conditions`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCondition(String);

/// Parsed conditions, ready to evaluate many times: paths are split and regexes compiled once.
#[derive(Debug, Clone)]
pub struct ConditionSet {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Leaf(Condition),
}

#[derive(Debug, Clone)]
struct Condition {
    attr: String,
    path: Vec<String>,
    op: Op,
    negate: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Eq(Value),
    Cmp(Cmp, Value),
    In(Vec<Value>),
    Contains(Value),
    Regex(Regex),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl ConditionSet {
    /// Parses conditions as NetBox's `ConditionSet(...)` does, refusing what NetBox refuses (and
    /// what would crash NetBox later). Call it when loading configuration.
    pub fn parse(value: &Value) -> Result<ConditionSet, ConditionError> {
        let Value::Object(ruleset) = value else {
            return Err(ConditionError(format!(
                "Ruleset must be a dictionary, not {}.",
                python_class(value)
            )));
        };
        let root = match single_entry(ruleset) {
            Some((key, rules)) => {
                let logic = key.to_lowercase();
                if logic != AND && logic != OR {
                    return Err(ConditionError(
                        "Invalid logic type: must be 'AND' or 'OR'. Please check documentation."
                            .into(),
                    ));
                }
                if *key != logic {
                    return Err(ConditionError(format!(
                        "Logic key {key:?} must be written in lower case: {logic:?}."
                    )));
                }
                parse_group(key, rules)?
            }
            None => Node::Leaf(parse_condition(ruleset)?),
        };
        Ok(ConditionSet { root })
    }

    /// Evaluates the conditions against an event's `data`, stopping as soon as the result is
    /// known, as Python's `all()`/`any()` do.
    pub fn eval(&self, data: &Value) -> Result<bool, InvalidCondition> {
        self.root.eval(data)
    }
}

/// Whether an event passes a rule's conditions: no conditions always pass, and conditions that
/// cannot be evaluated against this data fail (with a warning naming the problem), as NetBox's
/// `EventRule.eval_conditions` decides.
pub fn matches(conditions: Option<&ConditionSet>, data: &Value) -> bool {
    matches_rule("", conditions, data)
}

/// [`matches`], naming the rule in the warning.
pub(crate) fn matches_rule(rule: &str, conditions: Option<&ConditionSet>, data: &Value) -> bool {
    let Some(conditions) = conditions else {
        return true;
    };
    match conditions.eval(data) {
        Ok(result) => result,
        Err(problem) => {
            tracing::warn!(rule, %problem, "event rule conditions could not be evaluated; the rule does not match");
            false
        }
    }
}

fn single_entry(map: &Map<String, Value>) -> Option<(&String, &Value)> {
    match map.len() {
        1 => map.iter().next(),
        _ => None,
    }
}

/// NetBox's `is_ruleset`: an object with exactly one key, `and` or `or`, in lower case.
fn is_ruleset(value: &Value) -> bool {
    matches!(value, Value::Object(map) if single_entry(map).is_some_and(|(k, _)| k == AND || k == OR))
}

fn parse_group(logic: &str, rules: &Value) -> Result<Node, ConditionError> {
    let Value::Array(rules) = rules else {
        return Err(ConditionError(format!(
            "The value of {logic:?} must be a list of conditions, not {}.",
            python_class(rules)
        )));
    };
    let nodes = rules
        .iter()
        .map(|rule| match rule {
            _ if is_ruleset(rule) => {
                let (key, inner) = rule.as_object().and_then(single_entry).expect("a ruleset");
                parse_group(key, inner)
            }
            Value::Object(condition) => parse_condition(condition).map(Node::Leaf),
            _ => Err(ConditionError(INCORRECT_KEYS.into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if logic == OR {
        Node::Any(nodes)
    } else {
        Node::All(nodes)
    })
}

fn parse_condition(map: &Map<String, Value>) -> Result<Condition, ConditionError> {
    let known = ["attr", "value", "op", "negate"];
    if map.keys().any(|k| !known.contains(&k.as_str()))
        || !map.contains_key("attr")
        || !map.contains_key("value")
    {
        return Err(ConditionError(INCORRECT_KEYS.into()));
    }
    let op = match map.get("op") {
        None => "eq",
        Some(Value::String(op)) if OPERATORS.split(", ").any(|o| o == op) => op.as_str(),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            return Err(ConditionError(format!(
                "Unknown operator: {shown}. Must be one of: {OPERATORS}"
            )));
        }
    };
    let value = &map["value"];
    let allowed: &[&str] = match value {
        Value::String(_) => &["eq", "contains", "regex"],
        Value::Bool(_) => &["eq", "contains"],
        Value::Number(_) => &["eq", "gt", "gte", "lt", "lte", "contains"],
        Value::Array(_) => &["eq", "in", "contains"],
        Value::Null => &["eq"],
        Value::Object(_) => {
            return Err(ConditionError(format!(
                "Unsupported value type: {}",
                python_class(value)
            )))
        }
    };
    if !allowed.contains(&op) {
        return Err(ConditionError(format!(
            "Invalid type for {op} operation: {}",
            python_class(value)
        )));
    }
    let Some(Value::String(attr)) = map.get("attr") else {
        return Err(ConditionError(format!(
            "The attribute must be a string, not {}.",
            python_class(&map["attr"])
        )));
    };
    let negate = match map.get("negate") {
        None => false,
        Some(Value::Bool(negate)) => *negate,
        Some(other) => {
            return Err(ConditionError(format!(
                "negate must be true or false, not {other}."
            )))
        }
    };
    let op = match (op, value) {
        ("eq", _) => Op::Eq(value.clone()),
        ("gt", _) => Op::Cmp(Cmp::Gt, value.clone()),
        ("gte", _) => Op::Cmp(Cmp::Gte, value.clone()),
        ("lt", _) => Op::Cmp(Cmp::Lt, value.clone()),
        ("lte", _) => Op::Cmp(Cmp::Lte, value.clone()),
        ("in", Value::Array(items)) => Op::In(items.clone()),
        ("contains", _) => Op::Contains(value.clone()),
        ("regex", Value::String(pattern)) => Op::Regex(compile_match(pattern)?),
        _ => unreachable!("operator and value type were checked above"),
    };
    Ok(Condition {
        attr: attr.clone(),
        path: attr.split('.').map(str::to_string).collect(),
        op,
        negate,
    })
}

/// Compiles a pattern for `re.match` semantics: anchored at the start only. The pattern is
/// checked on its own first, so wrapping it cannot change its meaning.
fn compile_match(pattern: &str) -> Result<Regex, ConditionError> {
    let refuse = |e: regex::Error| {
        ConditionError(format!(
            "Invalid regular expression {pattern:?}: {}",
            e.to_string().lines().last().unwrap_or_default()
        ))
    };
    Regex::new(pattern).map_err(refuse)?;
    Regex::new(&format!(r"\A(?:{pattern})")).map_err(refuse)
}

impl Node {
    fn eval(&self, data: &Value) -> Result<bool, InvalidCondition> {
        match self {
            Node::All(nodes) => {
                for node in nodes {
                    if !node.eval(data)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Node::Any(nodes) => {
                for node in nodes {
                    if node.eval(data)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Node::Leaf(condition) => condition.eval(data),
        }
    }
}

/// A Python `TypeError` raised while comparing, with Python's message.
struct TypeError(String);

impl Condition {
    fn eval(&self, data: &Value) -> Result<bool, InvalidCondition> {
        let value = self.resolve(data)?;
        let result = self.op.apply(&value).map_err(|TypeError(e)| {
            InvalidCondition(format!(
                "Invalid data type at '{}' for '{}' evaluation: {e}",
                self.attr,
                self.op.name()
            ))
        })?;
        Ok(result != self.negate)
    }

    /// Walks the dotted path as NetBox's `functools.reduce(_get, ...)` does. Values are borrowed
    /// until a list is mapped over, which builds a new list.
    fn resolve<'d>(&self, data: &'d Value) -> Result<Cow<'d, Value>, InvalidCondition> {
        let mut current = Cow::Borrowed(data);
        for key in &self.path {
            current = match current {
                Cow::Borrowed(Value::Array(items)) => Cow::Owned(self.map_items(items, key)?),
                Cow::Borrowed(obj) => Cow::Borrowed(self.get_item(obj, key)?),
                Cow::Owned(Value::Array(items)) => Cow::Owned(self.map_items(&items, key)?),
                Cow::Owned(obj) => Cow::Owned(self.get_item(&obj, key)?.clone()),
            };
        }
        Ok(current)
    }

    /// Python's `[(item or {})[key] for item in items]`.
    fn map_items(&self, items: &[Value], key: &str) -> Result<Value, InvalidCondition> {
        items
            .iter()
            .map(|item| self.get_item(item, key).cloned())
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    /// Python's `(obj or {})[key]`: a falsy value acts as an empty dict (so the key is missing);
    /// a truthy non-dict cannot be indexed by a string.
    fn get_item<'d>(&self, obj: &'d Value, key: &str) -> Result<&'d Value, InvalidCondition> {
        match obj {
            Value::Object(map) => map.get(key).ok_or_else(|| self.missing()),
            _ if !truthy(obj) => Err(self.missing()),
            _ => Err(InvalidCondition(format!(
                "Invalid key path: {} ('{}' object cannot be indexed by key {key:?})",
                self.attr,
                python_type(obj)
            ))),
        }
    }

    fn missing(&self) -> InvalidCondition {
        InvalidCondition(format!("Invalid key path: {}", self.attr))
    }
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Eq(_) => "eq",
            Op::Cmp(Cmp::Gt, _) => "gt",
            Op::Cmp(Cmp::Gte, _) => "gte",
            Op::Cmp(Cmp::Lt, _) => "lt",
            Op::Cmp(Cmp::Lte, _) => "lte",
            Op::In(_) => "in",
            Op::Contains(_) => "contains",
            Op::Regex(_) => "regex",
        }
    }

    /// Applies the operator with the data on the left, as NetBox's `eval_*` methods do.
    fn apply(&self, data: &Value) -> Result<bool, TypeError> {
        match self {
            Op::Eq(value) => Ok(py_eq(data, value)),
            Op::Cmp(cmp, value) => {
                let symbol = match cmp {
                    Cmp::Gt => ">",
                    Cmp::Gte => ">=",
                    Cmp::Lt => "<",
                    Cmp::Lte => "<=",
                };
                let (Some(left), Some(right)) = (Num::of(data), Num::of(value)) else {
                    return Err(TypeError(format!(
                        "'{symbol}' not supported between instances of '{}' and '{}'",
                        python_type(data),
                        python_type(value)
                    )));
                };
                let order = left.cmp(right);
                Ok(match cmp {
                    Cmp::Gt => order == Ordering::Greater,
                    Cmp::Gte => order != Ordering::Less,
                    Cmp::Lt => order == Ordering::Less,
                    Cmp::Lte => order != Ordering::Greater,
                })
            }
            Op::In(items) => Ok(items.iter().any(|item| py_eq(data, item))),
            Op::Contains(value) => py_contains(data, value),
            Op::Regex(regex) => match data {
                Value::String(text) => Ok(regex.is_match(text)),
                _ => Err(TypeError(format!(
                    "expected string or bytes-like object, got '{}'",
                    python_type(data)
                ))),
            },
        }
    }
}

/// Python's `needle in haystack` for JSON values.
fn py_contains(haystack: &Value, needle: &Value) -> Result<bool, TypeError> {
    match (haystack, needle) {
        (Value::String(text), Value::String(part)) => Ok(text.contains(part.as_str())),
        (Value::String(_), _) => Err(TypeError(format!(
            "'in <string>' requires string as left operand, not {}",
            python_type(needle)
        ))),
        (Value::Array(items), _) => Ok(items.iter().any(|item| py_eq(item, needle))),
        (Value::Object(map), Value::String(key)) => Ok(map.contains_key(key)),
        // Keys are strings, which never equal a number or a bool; a list cannot be hashed.
        (Value::Object(_), Value::Array(_) | Value::Object(_)) => Err(TypeError(format!(
            "unhashable type: '{}'",
            python_type(needle)
        ))),
        (Value::Object(_), _) => Ok(false),
        _ => Err(TypeError(format!(
            "argument of type '{}' is not iterable",
            python_type(haystack)
        ))),
    }
}

/// Python's `==` on values decoded from JSON: numbers and booleans compare by value across
/// int, float and bool; containers compare item by item; other mixed types are unequal.
fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| py_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| py_eq(x, y)))
        }
        _ => match (Num::of(a), Num::of(b)) {
            (Some(x), Some(y)) => x.cmp(y) == Ordering::Equal,
            _ => false,
        },
    }
}

/// A JSON number (or bool) as Python sees it: an exact integer or a float.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(value: &Value) -> Option<Num> {
        match value {
            Value::Bool(b) => Some(Num::Int(i128::from(*b))),
            Value::Number(n) => Some(if let Some(i) = n.as_i64() {
                Num::Int(i.into())
            } else if let Some(u) = n.as_u64() {
                Num::Int(u.into())
            } else {
                Num::Float(n.as_f64().unwrap_or(f64::NAN))
            }),
            _ => None,
        }
    }

    /// Exact comparison, as Python compares an int with a float (no rounding of the int).
    /// JSON has no NaN, so the order is total here.
    fn cmp(self, other: Num) -> Ordering {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(&b),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).reverse(),
        }
    }
}

fn int_float_cmp(int: i128, float: f64) -> Ordering {
    const LIMIT: f64 = 1.7014118346046923e38; // 2^127
    let floor = float.floor();
    if floor >= LIMIT {
        return Ordering::Less;
    }
    if floor < -LIMIT {
        return Ordering::Greater;
    }
    match int.cmp(&(floor as i128)) {
        Ordering::Equal if float > floor => Ordering::Less,
        order => order,
    }
}

/// Python truthiness for JSON values.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The Python type name a JSON value decodes to.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn python_class(value: &Value) -> PythonClass {
    PythonClass(python_type(value))
}

/// Prints as Python prints a type, `<class 'dict'>`, to keep NetBox's messages.
struct PythonClass(&'static str);

impl fmt::Display for PythonClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<class '{}'>", self.0)
    }
}

#[cfg(test)]
mod tests;
