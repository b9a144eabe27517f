//! The template table: every row of tests/data/templates.jsonl (written by
//! scripts/gen_template_table.py from Jinja2 3.1.6's SandboxedEnvironment) rendered by manage on
//! the same context (tests/data/templates_context.json). Each row must be
//! - `same`: load and render byte-identical to Jinja2's output;
//! - `refused`: refused at load, by `check_template` and by `CompiledWebhook::new`, with exactly
//!   the recorded reason (our wording, kept in the generator);
//! - `fails`: where Jinja2 itself fails, load and then fail at render.

use std::collections::BTreeMap;

use manage::webhooks::{
    check_template, CompiledWebhook, TemplateField, WebhookConfig, WebhookContext,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Row {
    id: String,
    field: String,
    template: String,
    outcome: String,
    expected: Option<String>,
    jinja2_error: Option<String>,
    reason: Option<String>,
}

fn data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn context() -> WebhookContext {
    let ctx: Value = serde_json::from_str(&data("templates_context.json")).unwrap();
    let text = |key: &str| ctx[key].as_str().unwrap().to_string();
    WebhookContext {
        username: Some(text("username")),
        request_id: Some(text("request_id")),
        snapshots: Some(ctx["snapshots"].clone()),
        ..WebhookContext::new(
            &text("event"),
            &text("object_type"),
            &text("timestamp"),
            ctx["data"].clone(),
        )
    }
}

fn webhook(row: &Row) -> (WebhookConfig, TemplateField) {
    let mut config: WebhookConfig = toml::from_str(&format!(
        "name = {:?}\npayload_url = \"http://127.0.0.1:9000/\"",
        row.id
    ))
    .unwrap();
    let field = match row.field.as_str() {
        "url" => {
            config.payload_url = row.template.clone();
            TemplateField::PayloadUrl
        }
        "headers" => {
            config.additional_headers = row.template.clone();
            TemplateField::AdditionalHeaders
        }
        "body" => {
            config.body_template = row.template.clone();
            TemplateField::BodyTemplate
        }
        other => panic!("row {}: unknown field {other}", row.id),
    };
    (config, field)
}

/// What manage did with one row, in the table's words.
fn run(row: &Row, ctx: &WebhookContext) -> Result<(), String> {
    let (config, field) = webhook(row);
    let checked = check_template(field, &row.template);
    let compiled = CompiledWebhook::new(&config);
    match row.outcome.as_str() {
        "same" => {
            checked.map_err(|e| format!("refused at load: {e}"))?;
            let hook = compiled.map_err(|e| format!("did not compile: {e}"))?;
            let ours = hook
                .render_text(field, ctx)
                .map_err(|e| format!("failed at render: {e}"))?;
            let expected = row.expected.as_deref().unwrap_or_default();
            if ours != expected {
                return Err(format!(
                    "different output\n    ours:   {ours:?}\n    jinja2: {expected:?}"
                ));
            }
            if field == TemplateField::PayloadUrl {
                let url = hook.render_url(ctx).map_err(|e| e.to_string())?;
                if url != expected {
                    return Err(format!("render_url gave {url:?}"));
                }
            }
            Ok(())
        }
        "refused" => {
            let reason = row.reason.as_deref().unwrap_or_default();
            match (checked, compiled) {
                (Err(checked), Err(compiled)) if checked == reason && compiled.message == reason => {
                    Ok(())
                }
                (Err(checked), _) => Err(format!(
                    "refused with another reason\n    ours:     {checked:?}\n    recorded: {reason:?}"
                )),
                (Ok(()), _) => Err(format!("loaded, but should be refused with {reason:?}")),
            }
        }
        "fails" => {
            checked.map_err(|e| format!("refused at load (table says it fails at render): {e}"))?;
            let hook = compiled.map_err(|e| format!("did not compile: {e}"))?;
            match hook.render_text(field, ctx) {
                Err(_) => Ok(()),
                Ok(ours) => Err(format!(
                    "rendered {ours:?} where Jinja2 fails with {:?}",
                    row.jinja2_error
                )),
            }
        }
        other => Err(format!("unknown outcome {other}")),
    }
}

#[test]
fn every_template_renders_as_jinja2_or_is_refused_at_load() {
    let ctx = context();
    let rows: Vec<Row> = data("templates.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(rows.len() >= 200, "only {} rows", rows.len());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for row in &rows {
        match run(row, &ctx) {
            Ok(()) => *counts.entry(row.outcome.as_str()).or_default() += 1,
            Err(problem) => problems.push(format!(
                "{} ({}): {problem}\n    template: {:?}",
                row.id, row.field, row.template
            )),
        }
    }
    eprintln!("template table: {counts:?}, {} different", problems.len());
    assert!(
        problems.is_empty(),
        "{} of {} rows differ:\n{}",
        problems.len(),
        rows.len(),
        problems.join("\n")
    );
}

/// `manage check` (and every command, which loads the same settings) names the webhook, the
/// field and the construct, and says what to write instead.
#[test]
fn manage_check_refuses_templates_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manage.toml");
    std::fs::write(
        &path,
        r#"
[[webhooks]]
name = "site-hook"
payload_url = "https://hooks.example.com/{{ data.tags|map(attribute='slug') }}"
additional_headers = "X-Id: {{ '{}'.format(data.id) }}"
body_template = "{{ data.name|split(' ') }}"
"#,
    )
    .unwrap();
    let outcome = manage::call_command(
        "check",
        ["--skip-redis", "--config", path.to_str().unwrap()],
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    for expected in [
        "webhooks[0] (site-hook): key 'payload_url': data.tags|map(attribute='slug'): |map gives a generator in Jinja2, which prints as \"<generator object …>\"; add |list",
        "webhooks[0] (site-hook): key 'additional_headers': '{}'.format(…): Python's str.format is not supported; write \"{{ a }}-{{ b }}\", or \"%s-%s\" % (a, b), or the format filter",
        "webhooks[0] (site-hook): key 'body_template': there is no filter named 'split' in Jinja2 (NetBox would fail with \"No filter named 'split'\"); write x.split(',')",
    ] {
        assert!(
            outcome.stderr.lines().any(|line| line.contains(expected)),
            "missing {expected:?} in:\n{}",
            outcome.stderr
        );
    }
}
