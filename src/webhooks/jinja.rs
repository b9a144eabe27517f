//! The template language as NetBox has it: Jinja2 3.1's `SandboxedEnvironment` with its default
//! `Undefined` and no loader, built on `minijinja`.
//!
//! A template goes through [`prepare`] once, when the settings load, and either comes out as
//! source ready for minijinja or is refused with a reason that names the construct and says what
//! to write instead. What minijinja would do differently from Jinja2 is dealt with here:
//!
//! - [`check`] walks minijinja's syntax tree and refuses what cannot be made the same: filters,
//!   tests, functions and methods Jinja2 does not have (or that we do not offer), Python's dict
//!   methods read as attributes, generators (`map`, `select`, …) where Jinja2 would print
//!   `<generator object …>`, find no length or always be true, loaders and extensions NetBox
//!   does not load. It also rewrites the operators minijinja computes differently (`~`, `+`,
//!   `%`, `/`, `//`, `**`) and tuple literals into calls of our own functions, so that they follow
//!   Python: `~` joins `str()` of both sides, `"%s" % x` formats, `(a, b)` is a tuple.
//! - [`scope`] refuses a name that is neither in the context nor bound by the template where an
//!   undefined value would fail, Jinja2's globals we do not offer, `varargs`/`kwargs`, and calls
//!   of macros and methods with a number of arguments that cannot work; [`fold`] evaluates the
//!   expressions made only of literals and refuses those that fail (`[1, 'a']|sort`).
//! - [`filters`], [`predicates`] (Jinja2's tests) and [`methods`] (Python's methods on `str`,
//!   `list` and `dict`) implement Jinja2's and Python's behaviour; every value prints as Python's
//!   `str()` prints it ([`crate::python`]).
//!
//! The sandbox holds: templates see only the context they are given, there is no attribute
//! access beyond its data, no loader, and no access to the process environment (NetBox's `env`
//! filter is not offered).

mod check;
mod filters;
mod fold;
mod methods;
mod predicates;
mod scope;

use minijinja::value::Rest;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

use crate::python;

pub use check::prepare;
pub(crate) use methods::is_line_break;

/// The template name a webhook's additional headers render under; values printed there may not
/// contain control characters.
pub const HEADERS_TEMPLATE: &str = "additional_headers";

/// The functions the rewritten operators call; no template may use these names itself.
const RESERVED_PREFIX: &str = "__manage_";
const CONCAT: &str = "__manage_concat";
const ADD: &str = "__manage_add";
const MOD: &str = "__manage_mod";
const DIV: &str = "__manage_div";
const FLOORDIV: &str = "__manage_floordiv";
const POW: &str = "__manage_pow";
const TUPLE: &str = "__manage_tuple";

/// How much one render may do: instructions (minijinja's fuel) and the longest string or list
/// any step may build, so a careless template (`range` in `range`, a string doubled in a loop)
/// fails in a moment instead of holding a thread and gigabytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Instructions per render.
    pub fuel: u64,
    /// Bytes (or items) a string (or list) built by `~`, `+` or `%` may have.
    pub max_value: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            fuel: DEFAULT_FUEL,
            max_value: 10 * 1024 * 1024,
        }
    }
}

/// Instructions a render may run: far more than any webhook template needs (a body looping
/// over a thousand tags and custom fields runs about 50,000), few enough to end a runaway loop
/// within a second.
pub const DEFAULT_FUEL: u64 = 5_000_000;

/// The sandbox every webhook template renders in, with the default [`Bounds`].
pub fn environment() -> Environment<'static> {
    bounded_environment(Bounds::default())
}

/// The sandbox every webhook template renders in.
pub fn bounded_environment(bounds: Bounds) -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_fuel(Some(bounds.fuel));
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_formatter(|out, state, value| {
        let text = python::str(value);
        // A value printed into the headers may not start a new line: that would let data add
        // headers of its own (NetBox issue #22746).
        if state.name() == HEADERS_TEMPLATE && text.contains(|c: char| c.is_ascii_control()) {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "a value printed into a header contains a control character (apply the header_safe filter)",
            ));
        }
        out.write_str(&text).map_err(Error::from)
    });
    filters::register(&mut env);
    predicates::register(&mut env);
    env.set_unknown_method_callback(methods::call);
    env.add_function("range", range);
    env.add_function("dict", minijinja::functions::dict);
    env.add_function("namespace", minijinja::functions::namespace);
    let max = bounds.max_value;
    env.add_function(CONCAT, move |a: Value, b: Value| {
        let (a, b) = (python::str(&a), python::str(&b));
        within(max, a.len() + b.len())?;
        Ok::<_, Error>(Value::from(format!("{a}{b}")))
    });
    env.add_function(ADD, move |a: Value, b: Value| {
        within(max, size(&a) + size(&b))?;
        methods::add(a, b)
    });
    env.add_function(MOD, move |a: Value, b: Value| {
        let result = methods::modulo(a, b)?;
        within(max, size(&result))?;
        Ok(result)
    });
    env.add_function(DIV, methods::true_div);
    env.add_function(FLOORDIV, methods::floor_div);
    env.add_function(POW, methods::power);
    env.add_function(TUPLE, |items: Rest<Value>| python::tuple(items.0));
    env
}

/// Refuses a value of `len` bytes or items past `max`.
fn within(max: usize, len: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("a value grew to {len} bytes or items, over the bound of {max}"),
        ));
    }
    Ok(())
}

/// The length of a string, or of a list, as far as it is known without building it.
fn size(value: &Value) -> usize {
    value
        .as_str()
        .map(str::len)
        .or_else(|| value.len())
        .unwrap_or(0)
}

/// Jinja2's sandboxed `range`: Python's `range` as a list, at most 100,000 items.
fn range(args: Rest<Value>) -> Result<Value, Error> {
    let ints: Vec<i64> = args
        .iter()
        .map(|arg| {
            arg.as_i64()
                .filter(|_| arg.is_integer() || arg.kind() == minijinja::value::ValueKind::Bool)
                .ok_or_else(|| {
                    fail(format!(
                        "TypeError: '{}' object cannot be interpreted as an integer",
                        python::type_name(arg)
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let (start, stop, step) = match ints[..] {
        [stop] => (0, stop, 1),
        [start, stop] => (start, stop, 1),
        [start, stop, step] => (start, stop, step),
        [] => return Err(fail("TypeError: range expected at least 1 argument, got 0")),
        _ => {
            return Err(fail(format!(
                "TypeError: range expected at most 3 arguments, got {}",
                ints.len()
            )))
        }
    };
    if step == 0 {
        return Err(fail("ValueError: range() arg 3 must not be zero"));
    }
    let len = if step > 0 && stop > start {
        (stop - start - 1) / step + 1
    } else if step < 0 && stop < start {
        (start - stop - 1) / -step + 1
    } else {
        0
    };
    if len > 100_000 {
        return Err(fail(
            "OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
        ));
    }
    Ok(Value::from(
        (0..len).map(|i| start + i * step).collect::<Vec<_>>(),
    ))
}

/// A call's arguments bound to Python's parameter names as Python binds them: positional ones
/// first, then keywords. Too many, an unknown or a repeated keyword, or a missing required one
/// is Python's `TypeError`. `args` are minijinja's, keywords last.
fn bind(
    func: &str,
    args: &[Value],
    params: &[&str],
    required: usize,
) -> Result<Vec<Option<Value>>, Error> {
    let (positional, kwargs): (&[Value], minijinja::value::Kwargs) =
        minijinja::value::from_args(args)?;
    if positional.len() > params.len() {
        return Err(fail(format!(
            "TypeError: {func}() takes at most {} arguments ({} given)",
            params.len(),
            positional.len()
        )));
    }
    let mut bound: Vec<Option<Value>> = vec![None; params.len()];
    for (slot, value) in bound.iter_mut().zip(positional) {
        *slot = Some(value.clone());
    }
    for name in kwargs.args().map(str::to_owned).collect::<Vec<_>>() {
        let Some(at) = params.iter().position(|p| *p == name) else {
            return Err(fail(format!(
                "TypeError: {func}() got an unexpected keyword argument '{name}'"
            )));
        };
        if bound[at].is_some() {
            return Err(fail(format!(
                "TypeError: {func}() got multiple values for argument '{name}'"
            )));
        }
        bound[at] = Some(kwargs.get::<Value>(&name)?);
    }
    if let Some(missing) = bound[..required].iter().position(Option::is_none) {
        return Err(fail(format!(
            "TypeError: {func}() missing required argument: '{}'",
            params[missing]
        )));
    }
    Ok(bound)
}

/// An error at render time, worded as Python's exception (`TypeError: …`).
fn fail(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}
