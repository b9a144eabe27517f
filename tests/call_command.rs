//! `call_command`: running a command from Rust and reading what it printed.

#[test]
fn call_command_captures_output_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let outcome = manage::call_command(
        "diffsettings",
        ["--all", "--json", "--redis-url", "redis://captured:1/0"],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let value: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(value["redis"]["url"], "redis://captured:1/0");

    let outcome = manage::call_command("check", ["--skip-redis", "--set", "worker.concurrency=0"]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("worker.concurrency"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("command line: key 'worker.concurrency'"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("CommandError: System check identified 1 issue."),
        "{}",
        outcome.stderr
    );

    let outcome = manage::call_command("nosuch", Vec::<String>::new());
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("Unknown command: 'nosuch'"));
}

#[tokio::test(flavor = "multi_thread")]
async fn call_command_works_from_async_code() {
    let outcome = manage::call_command("diffsettings", ["--json", "--set", "worker.concurrency=9"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let value: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(value["worker"]["concurrency"], 9);
}
