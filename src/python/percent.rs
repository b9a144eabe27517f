//! Python's `%` string formatting (`"%s-%05d" % (name, id)`, `"%(name)s" % mapping`), as
//! CPython's `PyUnicode_Format` does it, for the values a template holds. Errors carry Python's
//! exception text (`TypeError: not enough arguments for format string`).

use minijinja::value::{Value, ValueKind};

use super::{repr, str, type_name, Tuple};

/// The right-hand side of `%`.
#[derive(Debug, Clone, Copy)]
pub enum PercentArgs<'a> {
    /// A tuple: one item per conversion.
    Tuple(&'a [Value]),
    /// Any other value: the only argument, or the mapping `%(key)s` reads.
    Single(&'a Value),
}

impl<'a> PercentArgs<'a> {
    /// The arguments `value` gives on the right of `%`: a tuple's items, or the value itself.
    pub fn of(value: &'a Value) -> Self {
        match value.downcast_object_ref::<Tuple>() {
            Some(tuple) => PercentArgs::Tuple(tuple.items()),
            None => PercentArgs::Single(value),
        }
    }
}

struct Args<'a> {
    args: PercentArgs<'a>,
    mapping: Option<&'a Value>,
    /// CPython's `argidx`/`arglen`: a single argument counts as length -1, index -2.
    index: isize,
    len: isize,
}

impl<'a> Args<'a> {
    /// CPython's starting state: a tuple is read item by item; any other single value is the
    /// one argument, and also the mapping `%(key)s` reads when it is a map or a sequence.
    fn new(args: PercentArgs<'a>) -> Self {
        let (index, len) = match args {
            PercentArgs::Tuple(items) => (0, items.len() as isize),
            PercentArgs::Single(_) => (-2, -1),
        };
        let mapping = match args {
            PercentArgs::Single(value)
                if matches!(value.kind(), ValueKind::Map | ValueKind::Seq)
                    && value.downcast_object_ref::<Tuple>().is_none() =>
            {
                Some(value)
            }
            _ => None,
        };
        Args {
            args,
            mapping,
            index,
            len,
        }
    }

    fn next(&mut self) -> Result<Value, String> {
        if self.index < self.len {
            let at = self.index;
            self.index += 1;
            return Ok(match self.args {
                PercentArgs::Tuple(items) => items[at as usize].clone(),
                PercentArgs::Single(value) => value.clone(),
            });
        }
        Err("TypeError: not enough arguments for format string".into())
    }
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// `format % args`.
pub fn percent_format(format: &str, args: PercentArgs<'_>) -> Result<String, String> {
    let mut args = Args::new(args);
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::with_capacity(format.len() + 16);
    let mut at = 0;
    while at < chars.len() {
        if chars[at] != '%' {
            out.push(chars[at]);
            at += 1;
            continue;
        }
        at += 1;
        let mut keyed: Option<Value> = None;
        if chars.get(at) == Some(&'(') {
            keyed = Some(mapping_key(&chars, &mut at, &mut args)?);
        }
        let spec = read_spec(&chars, &mut at, &mut args)?;
        let Some(&conversion) = chars.get(at) else {
            return Err("ValueError: incomplete format".to_string());
        };
        at += 1;
        if conversion == '%' {
            out.push('%');
            continue;
        }
        let value = match keyed.take() {
            Some(value) => value,
            None => args.next()?,
        };
        let text = convert(conversion, &value, &spec, at - 1)?;
        out.push_str(&text);
    }
    if args.index < args.len && args.mapping.is_none() {
        return Err("TypeError: not all arguments converted during string formatting".into());
    }
    Ok(out)
}

/// The value of a `%(key)` at `at` (on its `(`), leaving `at` after the `)`. Keys nest
/// parentheses as CPython's do, and once a key is read the conversion no longer takes
/// positional arguments, which CPython marks by resetting `argidx`/`arglen`.
fn mapping_key(chars: &[char], at: &mut usize, args: &mut Args<'_>) -> Result<Value, String> {
    let Some(mapping) = args.mapping else {
        return Err("TypeError: format requires a mapping".into());
    };
    let mut depth = 1;
    let start = *at + 1;
    *at += 1;
    while *at < chars.len() && depth > 0 {
        match chars[*at] {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        *at += 1;
    }
    if depth > 0 {
        return Err("ValueError: incomplete format key".into());
    }
    let key: String = chars[start..*at - 1].iter().collect();
    let value = mapping
        .get_item(&Value::from(key.as_str()))
        .unwrap_or_default();
    if value.is_undefined() {
        let mut text = String::from("KeyError: ");
        super::str_repr(&key, &mut text);
        return Err(text);
    }
    args.len = -1;
    args.index = -2;
    Ok(value)
}

/// The flags, width, precision and (ignored) length modifier between `%` and the conversion
/// character, leaving `at` on the conversion; a `*` width or precision takes the next argument,
/// so it is read in order with the values.
fn read_spec(chars: &[char], at: &mut usize, args: &mut Args<'_>) -> Result<Spec, String> {
    let mut spec = Spec::default();
    while let Some(&c) = chars.get(*at) {
        match c {
            '-' => spec.left = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alternate = true,
            '0' => spec.zero = true,
            _ => break,
        }
        *at += 1;
    }
    spec.width = number(chars, at, args, "width")?;
    if chars.get(*at) == Some(&'.') {
        *at += 1;
        spec.precision = Some(number(chars, at, args, "precision")?.unwrap_or(0));
    }
    while matches!(chars.get(*at), Some('h' | 'l' | 'L')) {
        *at += 1;
    }
    Ok(spec)
}

/// A width or precision: digits, or `*` for the next argument.
fn number(
    chars: &[char],
    at: &mut usize,
    args: &mut Args<'_>,
    what: &str,
) -> Result<Option<usize>, String> {
    if chars.get(*at) == Some(&'*') {
        *at += 1;
        let value = args.next()?;
        if !value.is_integer() {
            return Err(format!("TypeError: * wants int ({what})"));
        }
        return Ok(Some(value.as_usize().unwrap_or(0)));
    }
    let start = *at;
    while chars.get(*at).is_some_and(|c| c.is_ascii_digit()) {
        *at += 1;
    }
    if *at == start {
        return Ok(None);
    }
    let digits: String = chars[start..*at].iter().collect();
    digits
        .parse()
        .map(Some)
        .map_err(|_| format!("ValueError: {what} too big"))
}

/// One conversion of `value`, dispatched by kind as CPython's `unicode_format_arg_output`
/// does; `index` is the conversion character's position, for the error Python gives.
fn convert(conversion: char, value: &Value, spec: &Spec, index: usize) -> Result<String, String> {
    match conversion {
        's' | 'r' | 'a' => Ok(convert_text(conversion, value, spec)),
        'c' => convert_char(value, spec),
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => convert_integer(conversion, value, spec),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => convert_float(conversion, value, spec),
        other => Err(format!(
            "ValueError: unsupported format character '{other}' (0x{:x}) at index {index}",
            other as u32
        )),
    }
}

/// `%s`, `%r`, `%a`: Python's `str`, `repr` or `ascii`, cut to the precision; never fails,
/// since every value has a text form.
fn convert_text(conversion: char, value: &Value, spec: &Spec) -> String {
    let mut text = match conversion {
        's' => str(value).into_owned(),
        _ => {
            let mut text = String::new();
            repr(value, &mut text);
            if conversion == 'a' {
                text = ascii(&text);
            }
            text
        }
    };
    if let Some(precision) = spec.precision {
        text = text.chars().take(precision).collect();
    }
    pad(String::new(), text, spec, false)
}

/// `%c`: a one-character string as is, or an integer as the code point it names, with Python's
/// errors for anything else.
fn convert_char(value: &Value, spec: &Spec) -> Result<String, String> {
    let text = if let Some(text) = value.as_str() {
        if text.chars().count() != 1 {
            return Err("TypeError: %c requires int or char".into());
        }
        text.to_string()
    } else if value.is_integer() {
        let code = value.as_i64().unwrap_or(-1);
        match u32::try_from(code).ok().and_then(char::from_u32) {
            Some(c) => c.to_string(),
            None => return Err("OverflowError: %c arg not in range(0x110000)".into()),
        }
    } else {
        return Err("TypeError: %c requires int or char".into());
    };
    Ok(pad(String::new(), text, spec, false))
}

/// `%d %i %u %o %x %X`: the sign apart from the digits, so that zero padding goes between them
/// and `#` puts the base's prefix after the sign, as Python does.
fn convert_integer(conversion: char, value: &Value, spec: &Spec) -> Result<String, String> {
    let integer = integer_value(conversion, value)?;
    let (negative, magnitude) = (integer < 0, integer.unsigned_abs());
    let (prefix, mut digits) = match conversion {
        'o' => ("0o", format!("{magnitude:o}")),
        'x' => ("0x", format!("{magnitude:x}")),
        'X' => ("0X", format!("{magnitude:X}")),
        _ => ("", magnitude.to_string()),
    };
    if let Some(precision) = spec.precision {
        while digits.len() < precision {
            digits.insert(0, '0');
        }
    }
    let mut head = sign(negative, spec).to_string();
    if spec.alternate {
        head.push_str(prefix);
    }
    Ok(pad(head, digits, spec, true))
}

/// `%e %E %f %F %g %G`: formatted from the magnitude with the sign added apart (so `-0.0`
/// and zero padding come out as Python's), `inf`/`nan` spelled as Python spells them.
fn convert_float(conversion: char, value: &Value, spec: &Spec) -> Result<String, String> {
    let number = match value.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(value.clone()).unwrap_or(0.0),
        _ => {
            return Err(format!(
                "TypeError: must be real number, not {}",
                type_name(value)
            ))
        }
    };
    let precision = spec.precision.unwrap_or(6);
    let mut digits = if number.is_finite() {
        match conversion {
            'e' | 'E' => exponent_form(number.abs(), precision),
            'f' | 'F' => format!("{:.precision$}", number.abs()),
            _ => general_form(number.abs(), precision, spec.alternate),
        }
    } else if number.is_nan() {
        "nan".into()
    } else {
        "inf".into()
    };
    if spec.alternate && !digits.contains('.') && number.is_finite() {
        match digits.find('e') {
            Some(e) => digits.insert(e, '.'),
            None => digits.push('.'),
        }
    }
    if conversion.is_ascii_uppercase() {
        digits = digits.to_ascii_uppercase();
    }
    let negative = number.is_sign_negative() && !number.is_nan();
    Ok(pad(sign(negative, spec).to_string(), digits, spec, true))
}

fn integer_value(conversion: char, value: &Value) -> Result<i128, String> {
    match value.kind() {
        ValueKind::Bool => Ok(i128::from(value.is_true())),
        ValueKind::Number if value.is_integer() => {
            i128::try_from(value.clone()).map_err(|e| e.to_string())
        }
        ValueKind::Number if matches!(conversion, 'd' | 'i' | 'u') => {
            let number = f64::try_from(value.clone()).unwrap_or(f64::NAN);
            if number.is_nan() {
                Err("ValueError: cannot convert float NaN to integer".into())
            } else if number.is_infinite() {
                Err("OverflowError: cannot convert float infinity to integer".into())
            } else {
                Ok(number.trunc() as i128)
            }
        }
        _ if matches!(conversion, 'd' | 'i' | 'u') => Err(format!(
            "TypeError: %{conversion} format: a real number is required, not {}",
            type_name(value)
        )),
        _ => Err(format!(
            "TypeError: %{conversion} format: an integer is required, not {}",
            type_name(value)
        )),
    }
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// Pads `head` (sign and prefix) and `body` to the width: spaces on the right with `-`, zeros
/// between head and body with `0` (numbers only), spaces on the left otherwise.
fn pad(head: String, body: String, spec: &Spec, numeric: bool) -> String {
    let len = head.chars().count() + body.chars().count();
    let width = spec.width.unwrap_or(0);
    if width <= len {
        return head + &body;
    }
    let fill = width - len;
    if spec.left {
        format!("{head}{body}{}", " ".repeat(fill))
    } else if spec.zero && numeric {
        format!("{head}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{head}{body}", " ".repeat(fill))
    }
}

/// `%.{precision}e` of a non-negative finite number: `1.234560e+03`.
fn exponent_form(number: f64, precision: usize) -> String {
    let text = format!("{number:.precision$e}");
    let (mantissa, exponent) = text.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// `%.{precision}g` of a non-negative finite number.
fn general_form(number: f64, precision: usize, alternate: bool) -> String {
    let precision = precision.max(1);
    let exponent = if number == 0.0 {
        0
    } else {
        let text = format!("{number:.*e}", precision - 1);
        text.split_once('e')
            .and_then(|(_, e)| e.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let mut text = if -4 <= exponent && exponent < precision as i32 {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        format!("{number:.decimals$}")
    } else {
        exponent_form(number, precision - 1)
    };
    if !alternate {
        let (mantissa, rest) = match text.find('e') {
            Some(e) => (text[..e].to_string(), text[e..].to_string()),
            None => (text.clone(), String::new()),
        };
        let mantissa = if mantissa.contains('.') {
            mantissa
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            mantissa
        };
        text = mantissa + &rest;
    }
    text
}

/// `ascii()` of a `repr`: non-ASCII characters as `\xNN`, `\uNNNN`, `\UNNNNNNNN`.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c as u32 {
            0..=0x7f => out.push(c),
            code @ 0x80..=0xff => out.push_str(&format!("\\x{code:02x}")),
            code @ 0x100..=0xffff => out.push_str(&format!("\\u{code:04x}")),
            code => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::float_repr;

    fn format(format: &str, args: &[Value]) -> Result<String, String> {
        percent_format(format, PercentArgs::Tuple(args))
    }

    #[test]
    fn conversions_match_python() {
        // The same format and arguments as in Python:
        // '%05s|%-5d|%05d|%+d|% d|%5.1f|%-8.3e|%#x|%#o|%05.1f|%g|%g|%g|%#g|%.3g|%G|%c|%5c|%.2s|%x|%05s' % (…)
        let args = [
            Value::from("a"),
            Value::from(3),
            Value::from(-42),
            Value::from(5),
            Value::from(5),
            Value::from(2.25),
            Value::from(12345.678),
            Value::from(255),
            Value::from(8),
            Value::from(-2.5),
            Value::from(0.0001),
            Value::from(1e-5),
            Value::from(123456789.0),
            Value::from(1.0),
            Value::from(1234.5),
            Value::from(1e20),
            Value::from(65),
            Value::from("z"),
            Value::from("abc"),
            Value::from(-255),
            Value::from("ab"),
        ];
        assert_eq!(
            format("%05s|%-5d|%05d|%+d|% d|%5.1f|%-8.3e|%#x|%#o|%05.1f|%g|%g|%g|%#g|%.3g|%G|%c|%5c|%.2s|%x|%05s", &args).unwrap(),
            "    a|3    |-0042|+5| 5|  2.2|1.235e+04|0xff|0o10|-02.5|0.0001|1e-05|1.23457e+08|1.00000|1.23e+03|1E+20|A|    z|ab|-ff|   ab"
        );
        let args = [
            Value::from(f64::INFINITY),
            Value::from(f64::NAN),
            Value::from(2.5),
            Value::from(2.5),
            Value::from(12345),
            Value::from(-0.0),
            Value::from(3.9),
            Value::from(true),
        ];
        assert_eq!(
            format("%05f|%+f|%.0f|%#.0f|%.0e|%e|%i|%d", &args).unwrap(),
            "00inf|+nan|2|2.|1e+04|-0.000000e+00|3|1"
        );
    }

    #[test]
    fn errors_are_pythons() {
        let one = [Value::from(1)];
        assert_eq!(
            format("%s %s", &one).unwrap_err(),
            "TypeError: not enough arguments for format string"
        );
        assert_eq!(
            format("%s", &[Value::from(1), Value::from(2)]).unwrap_err(),
            "TypeError: not all arguments converted during string formatting"
        );
        assert_eq!(
            format("%d", &[Value::from("x")]).unwrap_err(),
            "TypeError: %d format: a real number is required, not str"
        );
        assert_eq!(
            format("%q", &one).unwrap_err(),
            "ValueError: unsupported format character 'q' (0x71) at index 1"
        );
        let mapping = Value::from_serialize(serde_json::json!({"a": 1}));
        assert_eq!(
            percent_format("%(a)s-%(b)d", PercentArgs::Single(&mapping)).unwrap_err(),
            "KeyError: 'b'"
        );
        assert_eq!(
            percent_format("%(a)03d", PercentArgs::Single(&mapping)).unwrap(),
            "001"
        );
        assert_eq!(
            percent_format("%s", PercentArgs::Single(&mapping)).unwrap(),
            "{'a': 1}"
        );
    }

    #[test]
    fn float_repr_is_used_for_s() {
        assert_eq!(
            format("%s", &[Value::from(1e16)]).unwrap(),
            float_repr(1e16)
        );
    }
}
