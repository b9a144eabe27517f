//! Jinja2's tests (`x is defined`, `x is divisibleby 3`, …) with Python's semantics: bools are
//! numbers, dicts and strings are sequences, `odd` works on floats. [`TESTS`] is the whole set;
//! any other name is refused at load.

use minijinja::value::{ObjectRepr, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::methods::{compare, modulo};
use super::{bind, fail, filters};
use crate::python::{self, Tuple};

/// Every test Jinja2 3.1 has, under each of its names.
pub(super) const TESTS: &[&str] = &[
    "odd",
    "even",
    "divisibleby",
    "defined",
    "undefined",
    "filter",
    "test",
    "none",
    "boolean",
    "false",
    "true",
    "integer",
    "float",
    "number",
    "string",
    "mapping",
    "iterable",
    "sequence",
    "callable",
    "sameas",
    "escaped",
    "in",
    "lower",
    "upper",
    "==",
    "eq",
    "equalto",
    "!=",
    "ne",
    ">",
    "gt",
    "greaterthan",
    ">=",
    "ge",
    "<",
    "lt",
    "lessthan",
    "<=",
    "le",
];

pub(super) fn register(env: &mut Environment<'static>) {
    for name in TESTS {
        let name: &'static str = name;
        env.add_test(name, move |value: &Value, args: Rest<Value>| {
            test(name, value, &args)
        });
    }
}

fn one_arg(name: &str, args: &[Value]) -> Result<Value, Error> {
    let bound = bind(name, args, &["other"], 1)?;
    Ok(bound.into_iter().next().flatten().expect("required"))
}

fn no_args(name: &str, args: &[Value]) -> Result<(), Error> {
    bind(name, args, &[], 0).map(|_| ())
}

fn remainder_is(value: &Value, divisor: Value, expected: i64) -> Result<bool, Error> {
    if value.is_undefined() {
        return Err(fail("UndefinedError: the value is undefined"));
    }
    let rest = modulo(value.clone(), divisor)?;
    Ok(rest == Value::from(expected))
}

/// One test by name. The tests that only look at the value take no argument, so they share
/// the check for that; the rest compare the value with an argument.
fn test(name: &str, value: &Value, args: &[Value]) -> Result<bool, Error> {
    if let Some(answer) = kind_test(name, value).or_else(|| content_test(name, value)) {
        no_args(name, args)?;
        return Ok(answer);
    }
    relation_test(name, value, args)
}

/// The tests of a value's Python type, `None` for any other name. Python's kinds are not
/// minijinja's: a bool is a number, a dict and a string are sequences, an undefined value is
/// iterable (as Jinja2's `Undefined` is).
fn kind_test(name: &str, value: &Value) -> Option<bool> {
    let kind = value.kind();
    Some(match name {
        "none" => kind == ValueKind::None,
        "boolean" | "true" | "false" => {
            kind == ValueKind::Bool
                && match name {
                    "true" => value.is_true(),
                    "false" => !value.is_true(),
                    _ => true,
                }
        }
        "integer" => kind == ValueKind::Number && value.is_integer(),
        "float" => kind == ValueKind::Number && !value.is_integer(),
        "number" => matches!(kind, ValueKind::Number | ValueKind::Bool),
        "string" => kind == ValueKind::String,
        "mapping" => kind == ValueKind::Map,
        "iterable" => matches!(
            kind,
            ValueKind::String
                | ValueKind::Seq
                | ValueKind::Map
                | ValueKind::Iterable
                | ValueKind::Undefined
        ),
        "sequence" => matches!(
            kind,
            ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Undefined
        ),
        "callable" => {
            kind == ValueKind::Plain
                || value
                    .as_object()
                    .is_some_and(|o| matches!(o.repr(), ObjectRepr::Plain))
                || is_macro(value)
        }
        _ => return None,
    })
}

/// The other tests that need no argument, `None` for any other name: whether the value is
/// defined, names a known filter or test, is marked safe, or is all one case (Python's
/// `str.islower`/`isupper`, which need at least one cased character).
fn content_test(name: &str, value: &Value) -> Option<bool> {
    Some(match name {
        "defined" | "undefined" => value.is_undefined() == (name == "undefined"),
        "filter" | "test" => {
            let known = if name == "filter" {
                filters::FILTERS
            } else {
                TESTS
            };
            value.as_str().is_some_and(|n| known.contains(&n))
        }
        "escaped" => value.is_safe(),
        "lower" | "upper" => {
            let text = python::str(value);
            let cased = |c: char| c.is_uppercase() || c.is_lowercase();
            text.chars().any(cased)
                && if name == "lower" {
                    !text.chars().any(char::is_uppercase)
                } else {
                    !text.chars().any(char::is_lowercase)
                }
        }
        _ => return None,
    })
}

/// The tests that compare the value with something: arithmetic (`odd`, `divisibleby`),
/// identity, membership, equality and order, which is every name left.
fn relation_test(name: &str, value: &Value, args: &[Value]) -> Result<bool, Error> {
    let kind = value.kind();
    Ok(match name {
        "odd" | "even" => {
            no_args(name, args)?;
            remainder_is(value, Value::from(2), i64::from(name == "odd"))?
        }
        "divisibleby" => remainder_is(value, one_arg(name, args)?, 0)?,
        "sameas" => {
            let other = one_arg(name, args)?;
            match other.kind() {
                ValueKind::None | ValueKind::Bool => kind == other.kind() && *value == other,
                _ => {
                    return Err(fail(
                        "sameas compares Python object identity, which only none, true and false have here",
                    ))
                }
            }
        }
        "in" => contains(&one_arg(name, args)?, value)?,
        "==" | "eq" | "equalto" => equal(value, &one_arg(name, args)?),
        "!=" | "ne" => !equal(value, &one_arg(name, args)?),
        _ => {
            let other = one_arg(name, args)?;
            let order = compare(value, &other)?;
            match name {
                ">" | "gt" | "greaterthan" => order.is_gt(),
                ">=" | "ge" => order.is_ge(),
                "<" | "lt" | "lessthan" => order.is_lt(),
                _ => order.is_le(),
            }
        }
    })
}

/// Whether a value is a macro: minijinja's macros are objects with exactly the keys `name`,
/// `arguments` and `caller`, which JSON data does not produce as an object of its own.
fn is_macro(value: &Value) -> bool {
    value.kind() == ValueKind::Map
        && value.as_object().is_some_and(|o| {
            o.try_iter()
                .map(|keys| keys.map(|k| k.to_string()).collect::<Vec<_>>())
                .is_some_and(|keys| keys == ["name", "arguments", "caller"])
        })
        && value
            .get_attr("arguments")
            .is_ok_and(|a| a.kind() == ValueKind::Seq)
}

/// Python's `==`: lists and tuples are never equal to each other, undefined equals nothing.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    let is_tuple = |v: &Value| v.downcast_object_ref::<Tuple>().is_some();
    if a.is_undefined() || b.is_undefined() || is_tuple(a) != is_tuple(b) {
        return false;
    }
    a == b
}

/// Python's `item in container`.
pub(super) fn contains(container: &Value, item: &Value) -> Result<bool, Error> {
    match container.kind() {
        ValueKind::String => match item.as_str() {
            Some(part) => Ok(container.as_str().unwrap_or_default().contains(part)),
            None => Err(fail(format!(
                "TypeError: 'in <string>' requires string as left operand, not {}",
                python::type_name(item)
            ))),
        },
        ValueKind::Map => Ok(!container.get_item(item)?.is_undefined()),
        ValueKind::Seq | ValueKind::Iterable => Ok(container
            .try_iter()?
            .any(|candidate| equal(&candidate, item))),
        ValueKind::Undefined => Ok(false),
        _ => Err(fail(format!(
            "TypeError: argument of type '{}' is not iterable",
            python::type_name(container)
        ))),
    }
}
