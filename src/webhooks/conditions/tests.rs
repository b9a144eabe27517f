//! Our condition language against NetBox's. `netbox_table.json` holds conditions evaluated
//! against one object by NetBox's own `netbox/extras/conditions.py` (the version our conditions
//! follow, pinned by its git blob id), with NetBox's outcome and message for each; it is written by
//! `scripts/conditions_table.py`, which loads NetBox's file as it is. No Python is needed to run
//! these tests. Rows where NetBox crashes (an uncaught `TypeError`, `KeyError` or `re.error`)
//! count as the outcome the crash amounts to: a refused condition when parsing, a rule that does
//! not match when evaluating. The rows where we knowingly differ are listed in [`DIFFERENCES`],
//! each saying why.

use serde_json::{json, Value};

use super::*;

/// NetBox's answers, from `scripts/conditions_table.py`.
const NETBOX_TABLE: &str = include_str!("netbox_table.json");

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    True,
    False,
    /// Evaluation raised `InvalidCondition`: the rule does not match.
    Invalid,
    /// `ConditionSet(...)` refused it: the configuration does not load.
    ParseError,
}
use Expect::*;

/// Rows where we give another outcome than NetBox, by decision: the conditions (as in the
/// table), our outcome, and why.
const DIFFERENCES: &[(&str, Expect, &str)] = &[
    (
        r#"{"attr":"name","op":"regex","value":"("}"#,
        ParseError,
        "NetBox compiles the pattern only when the rule runs and crashes on re.error; we refuse it at load",
    ),
    (
        r#"{"attr":"name","op":"regex","value":"S(?=ite)"}"#,
        ParseError,
        "NetBox: true. The regex crate has no look-around, so the pattern is refused at load",
    ),
    (
        r#"{"attr":"name","value":"x","negate":1}"#,
        ParseError,
        "NetBox: true (Python truthiness of 1). We accept only true or false",
    ),
    (
        r#"{"attr":"trail","op":"regex","value":"abc$"}"#,
        False,
        "NetBox: true. Python's `$` also matches before a final newline; the regex crate's does not",
    ),
];

/// One row of the table.
struct Row {
    conditions: Value,
    netbox: Expect,
    /// NetBox's message when it refused or found the condition invalid (not when it crashed).
    message: Option<String>,
}

fn table() -> (Value, Vec<Row>) {
    let table: Value = serde_json::from_str(NETBOX_TABLE).expect("netbox_table.json is JSON");
    let rows = table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| Row {
            conditions: row["conditions"].clone(),
            netbox: match row["netbox"].as_str() {
                Some("true") => True,
                Some("false") => False,
                Some("invalid") => Invalid,
                Some("refused") => ParseError,
                other => panic!("unknown NetBox outcome {other:?}"),
            },
            message: row["message"].as_str().map(str::to_string),
        })
        .collect();
    (table["data"].clone(), rows)
}

fn outcome(conditions: &Value, data: &Value) -> (Expect, Option<String>) {
    match ConditionSet::parse(conditions) {
        Err(error) => (ParseError, Some(error.to_string())),
        Ok(set) => match set.eval(data) {
            Ok(true) => (True, None),
            Ok(false) => (False, None),
            Err(error) => (Invalid, Some(error.to_string())),
        },
    }
}

fn difference(conditions: &Value) -> Option<Expect> {
    DIFFERENCES.iter().find_map(|(text, ours, _)| {
        (serde_json::from_str::<Value>(text).unwrap() == *conditions).then_some(*ours)
    })
}

#[test]
fn table_matches_netbox() {
    let (data, rows) = table();
    assert!(rows.len() >= 100, "the table has {} rows", rows.len());
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (got, _) = outcome(&row.conditions, &data);
        let expected = match difference(&row.conditions) {
            Some(ours) => {
                if ours == row.netbox {
                    failures.push(format!(
                        "row {i}: {} is listed as a difference but NetBox agrees",
                        row.conditions
                    ));
                }
                ours
            }
            None => row.netbox,
        };
        if got != expected {
            failures.push(format!(
                "row {i}: {} expected {expected:?}, got {got:?}",
                row.conditions
            ));
        }
    }
    let listed = DIFFERENCES
        .iter()
        .filter(|(text, _, _)| {
            let conditions: Value = serde_json::from_str(text).unwrap();
            rows.iter().any(|row| row.conditions == conditions)
        })
        .count();
    assert_eq!(
        listed,
        DIFFERENCES.len(),
        "every difference is a row of the table"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_are_netboxs() {
    let (data, rows) = table();
    let mut compared = 0;
    let mut failures = Vec::new();
    for row in &rows {
        let Some(theirs) = &row.message else { continue };
        if difference(&row.conditions).is_some() {
            continue;
        }
        compared += 1;
        let (_, ours) = outcome(&row.conditions, &data);
        if ours.as_deref() != Some(theirs.as_str()) {
            failures.push(format!(
                "{}: NetBox says {theirs:?}, we say {ours:?}",
                row.conditions
            ));
        }
    }
    assert!(compared >= 20, "only {compared} messages compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn matches_treats_none_as_pass_and_invalid_as_fail() {
    let (data, _) = table();
    assert!(matches(None, &data));
    let set = |v: Value| ConditionSet::parse(&v).unwrap();
    assert!(matches(
        Some(&set(json!({"attr": "status.value", "value": "active"}))),
        &data
    ));
    assert!(!matches(
        Some(&set(json!({"attr": "missing", "value": 1, "negate": true}))),
        &data
    ));
    assert!(!matches(
        Some(&set(json!({"attr": "status.value", "value": "planned"}))),
        &data
    ));
}
