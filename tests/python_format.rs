//! `manage::python` against Python itself: the test virtualenv's interpreter
//! (`MANAGE_TEST_PYTHON`, set by scripts/test.sh) computes `repr`, `str`, `json.dumps`,
//! `pprint.pformat` and `%` formatting of the same values, and RQ's own call string; every
//! answer must be byte-identical. Both uses are covered: RQ's job descriptions
//! (`rq::serializer::call_string`) and what templates print.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use manage::python::{self, PercentArgs};
use manage::rq::serializer::{call_string, Call};
use minijinja::Value;
use serde_json::{json, Value as Json};

/// Python that reads one JSON request and prints one JSON answer. `{"__tuple__": [...]}`
/// stands for a tuple on both sides.
const ORACLE: &str = r#"
import json, pprint, sys
from rq.utils import get_call_string

def py(v):
    if isinstance(v, dict):
        if list(v) == ["__tuple__"]:
            return tuple(py(x) for x in v["__tuple__"])
        return {k: py(x) for k, x in v.items()}
    if isinstance(v, list):
        return [py(x) for x in v]
    return v

def attempt(f):
    try:
        return f()
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)

req = json.load(sys.stdin)
out = {
    "values": [
        {"repr": repr(py(v)), "str": str(py(v)), "dumps": json.dumps(py(v)),
         "dumps2": json.dumps(py(v), indent=2), "pformat": pprint.pformat(py(v))}
        for v in req["values"]
    ],
    "percent": [attempt(lambda: f % py(a)) for f, a in req["percent"]],
    "calls": [get_call_string(c["func"], py(c["args"]), py(c["kwargs"])) for c in req["calls"]],
}
print(json.dumps(out))
"#;

fn template_value(value: &Json) -> Value {
    match value {
        Json::Object(map) if map.len() == 1 && map.contains_key("__tuple__") => {
            let items = map["__tuple__"].as_array().unwrap();
            python::tuple(items.iter().map(template_value).collect())
        }
        Json::Object(map) => Value::from_iter(
            map.iter()
                .map(|(k, v)| (Value::from(k.as_str()), template_value(v))),
        ),
        Json::Array(items) => Value::from(items.iter().map(template_value).collect::<Vec<_>>()),
        other => Value::from_serialize(other),
    }
}

fn is_plain_json(value: &Json) -> bool {
    match value {
        Json::Object(map) => !map.contains_key("__tuple__") && map.values().all(is_plain_json),
        Json::Array(items) => items.iter().all(is_plain_json),
        _ => true,
    }
}

fn ask_python(request: &Json) -> Json {
    let mut child = Command::new(support::python())
        .arg("-c")
        .arg(ORACLE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the test virtualenv's python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn values() -> Vec<Json> {
    vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-7),
        json!(9223372036854775807i64),
        json!(18446744073709551615u64),
        json!(-9223372036854775808i64),
        json!(1.0),
        json!(-0.0),
        json!(0.1),
        json!(1e16),
        json!(1.5e-7),
        json!(123456.789),
        json!(""),
        json!("plain"),
        json!("it's"),
        json!("say \"hi\""),
        json!("both ' and \""),
        json!("back\\slash\ttab\nnew\rret"),
        json!("Café Zürich 東京 😀"),
        json!("\u{0}\u{7}\u{1b}\u{7f}\u{85}\u{a0}\u{ad}\u{200b}\u{2028}\u{feff}\u{e000}\u{fffe}\u{1d173}\u{e0001}"),
        json!("x".repeat(200)),
        json!("word ".repeat(40)),
        json!("line one\nline two is longer than the others by a good margin, so long it must be split across\nthree"),
        json!([]),
        json!({}),
        json!([1, "a", null, [true, {"k": 2.5}]]),
        json!({"b": 1, "a": 2, "é": [3], "A": null}),
        json!({"__tuple__": []}),
        json!({"__tuple__": [1]}),
        json!({"__tuple__": ["x", [1, 2]]}),
        json!([{"__tuple__": ["name", "Site 1"]}, {"__tuple__": ["id", 4]}]),
        json!({"id": 4, "name": "Site with a long name that needs wrapping", "tags": [{"slug": "alpha", "name": "Alpha"}, {"slug": "beta", "name": "Beta"}], "custom_fields": {"z": null, "cost": 12.5, "owner": "ops-team@example.com"}}),
        json!({"nested": {"deeper": {"deepest": ["a".repeat(30), "b".repeat(30), "c".repeat(30)]}}}),
        json!([["a".repeat(50), "b".repeat(50)], {"__tuple__": ["c".repeat(50), "d".repeat(50)]}]),
    ]
}

fn percent_cases() -> Vec<(String, Json)> {
    [
        ("%s-%d", json!({"__tuple__": ["site", 4]})),
        ("%s", json!({"__tuple__": [[1, "a"]]})),
        ("%s", json!("alone")),
        ("%r|%a", json!({"__tuple__": ["é", "é"]})),
        ("%5s|%-5s|%.2s", json!({"__tuple__": ["ab", "cd", "efg"]})),
        ("%05d|%+d|% d|%x|%#X|%o|%i|%u", json!({"__tuple__": [42, 3, 3, 255, 255, 8, 3.99, -2.5]})),
        ("%.2f|%10.3f|%-10.1f|%e|%.3E|%g|%g|%G|%.10g", json!({"__tuple__": [2.675, 4.56789, -1.25, 0.000123, 98765.4321, 1e-5, 1234567.0, 1e300, 0.1]})),
        ("%d%%", json!({"__tuple__": [50]})),
        ("%(name)s has %(count)03d", json!({"name": "Site", "count": 7})),
        ("%*d|%.*f", json!({"__tuple__": [5, 42, 2, 4.56789]})),
        ("%c%c", json!({"__tuple__": [65, "é"]})),
        ("%s %s", json!({"__tuple__": ["one"]})),
        ("%s", json!({"__tuple__": ["one", "two"]})),
        ("no conversions", json!(5)),
        ("%d", json!("x")),
        ("%x", json!(1.5)),
        ("%f", json!(null)),
        ("%(missing)s", json!({"a": 1})),
        ("%(a)s", json!(1)),
        ("%q", json!(1)),
        ("%", json!(1)),
        ("%s", json!({"a": [1, 2]})),
    ]
    .into_iter()
    .map(|(f, a)| (f.to_string(), a))
    .collect()
}

fn calls() -> Vec<Call> {
    let call = |func: &str, args: Json, kwargs: Json| Call {
        func_name: func.into(),
        args: args.as_array().unwrap().clone(),
        kwargs: kwargs.as_object().unwrap().clone(),
    };
    vec![
        call("tasks.add", json!([2, 3]), json!({})),
        call(
            "tasks.echo",
            json!(["é", null, true, 1.5, 1e16]),
            json!({"scale": 10}),
        ),
        call(
            "extras.webhooks.send_webhook",
            json!([]),
            json!({"data": {"id": 1, "name": "it's \"x\""}}),
        ),
        call(
            "manage.echo",
            json!([[1, {"a": "\u{7}"}], {"k": [null]}]),
            json!({}),
        ),
    ]
}

#[test]
fn python_formatting_matches_python() {
    let values = values();
    let percent = percent_cases();
    let calls = calls();
    let request = json!({
        "values": values,
        "percent": percent.iter().map(|(f, a)| json!([f, a])).collect::<Vec<_>>(),
        "calls": calls.iter().map(|c| json!({"func": c.func_name, "args": c.args, "kwargs": c.kwargs})).collect::<Vec<_>>(),
    });
    let answer = ask_python(&request);

    let mut failures = Vec::new();
    let mut compared = 0;
    let mut check = |what: String, ours: String, theirs: &Json| {
        compared += 1;
        if Some(ours.as_str()) != theirs.as_str() {
            failures.push(format!("{what}\n  ours:   {ours:?}\n  python: {theirs}"));
        }
    };
    for (value, expected) in values.iter().zip(answer["values"].as_array().unwrap()) {
        let template = template_value(value);
        let mut repr = String::new();
        python::repr(&template, &mut repr);
        check(format!("repr({value})"), repr, &expected["repr"]);
        check(
            format!("str({value})"),
            python::str(&template).into_owned(),
            &expected["str"],
        );
        check(
            format!("pformat({value})"),
            python::pformat(&template),
            &expected["pformat"],
        );
        if is_plain_json(value) {
            let mut repr = String::new();
            python::json_repr(value, &mut repr);
            check(format!("json repr({value})"), repr, &expected["repr"]);
            let dumps =
                |indent| String::from_utf8(python::json_dumps(value, indent).unwrap()).unwrap();
            check(
                format!("json.dumps({value})"),
                dumps(None),
                &expected["dumps"],
            );
            check(
                format!("json.dumps({value}, indent=2)"),
                dumps(Some(2)),
                &expected["dumps2"],
            );
        }
    }
    for ((format, args), expected) in percent.iter().zip(answer["percent"].as_array().unwrap()) {
        let args = template_value(args);
        let ours = python::percent_format(format, PercentArgs::of(&args)).unwrap_or_else(|e| e);
        check(format!("{format:?} % {args}"), ours, expected);
    }
    for (call, expected) in calls.iter().zip(answer["calls"].as_array().unwrap()) {
        check(
            format!("call string of {}", call.func_name),
            call_string(call, 10_000),
            expected,
        );
    }
    assert!(compared > 150, "only {compared} comparisons");
    assert!(
        failures.is_empty(),
        "{} differences from Python:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
