//! The command line as a user meets it: help, unknown commands, bad flags, common options,
//! layered settings and their errors, `check`, completions, and a command added by another crate.

mod support;

use std::{fs, process::Command};

use support::{manage, run, stderr, stdout, RedisServer};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn help_lists_commands_grouped_and_sorted() {
    let dir = temp();
    for args in [vec![], vec!["help"]] {
        let out = run(manage(dir.path()).args(&args));
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        assert!(
            text.contains("Type 'manage help <subcommand>' for help on a specific subcommand."),
            "{text}"
        );
        let core = text.find("[core]").expect("core group");
        let check = text.find("    check ").expect("check listed");
        let completions = text.find("    completions ").expect("completions listed");
        assert!(
            core < check && check < completions,
            "sorted within the group:\n{text}"
        );
        let groups: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        let mut sorted = groups.clone();
        sorted.sort();
        assert_eq!(groups, sorted, "groups sorted");
    }
}

#[test]
fn help_for_one_command_shows_its_options_both_ways() {
    let dir = temp();
    let via_help = run(manage(dir.path()).args(["help", "check"]));
    let via_flag = run(manage(dir.path()).args(["check", "--help"]));
    assert!(via_help.status.success() && via_flag.status.success());
    for text in [stdout(&via_help), stdout(&via_flag)] {
        assert!(text.contains("Usage: manage check"), "{text}");
        assert!(text.contains("--skip-redis"), "{text}");
        assert!(text.contains("--verbosity"), "common options shown: {text}");
    }
}

#[test]
fn unknown_command_suggests_and_exits_1() {
    let dir = temp();
    let out = run(manage(dir.path()).arg("chek"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Unknown command: 'chek'. Did you mean check?\nType 'manage help' for usage.\n"
    );
    assert!(stdout(&out).is_empty());

    let out = run(manage(dir.path()).arg("zzzzqqq"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Unknown command: 'zzzzqqq'.\nType 'manage help' for usage.\n"
    );

    let out = run(manage(dir.path()).args(["help", "diffsetings"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("Unknown command: 'diffsetings'. Did you mean diffsettings?"));
}

#[test]
fn bad_flags_exit_2_with_usage() {
    let dir = temp();
    let ansi = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    for args in [
        vec!["check", "--bogus"],
        vec!["check", "--verbosity", "7"],
        vec!["check", "--no-color", "--force-color"],
        vec!["completions", "tcsh"],
    ] {
        let out = run(manage(dir.path()).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let plain = ansi.replace_all(&stderr(&out), "").into_owned();
        assert!(plain.contains("Usage: manage"), "{args:?}: {plain}");
    }
}

#[test]
fn common_options_are_accepted_before_and_after_the_command() {
    let dir = temp();
    for args in [
        vec!["--verbosity", "0", "--no-color", "check", "--skip-redis"],
        vec!["check", "--skip-redis", "-v", "0", "--no-color"],
    ] {
        let out = run(manage(dir.path()).args(&args));
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("System check identified no issues."));
    }
}

fn effective(dir: &std::path::Path, command: &mut Command) -> serde_json::Value {
    let _ = dir;
    let out = run(command.args(["diffsettings", "--all", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn settings_layers_file_then_environment_then_flags() {
    let dir = temp();
    let get = |v: &serde_json::Value| v["redis"]["url"].as_str().unwrap().to_string();
    assert_eq!(
        get(&effective(dir.path(), &mut manage(dir.path()))),
        "redis://127.0.0.1:6379/0",
        "built-in default"
    );

    fs::write(
        dir.path().join("manage.toml"),
        "[redis]\nurl = \"redis://file:1/0\"\n[http]\ntimeout = 12.5\n",
    )
    .unwrap();
    let v = effective(dir.path(), &mut manage(dir.path()));
    assert_eq!(
        get(&v),
        "redis://file:1/0",
        "manage.toml in the working directory"
    );
    assert_eq!(v["http"]["timeout"], 12.5);

    let v = effective(
        dir.path(),
        manage(dir.path())
            .env("MANAGE_REDIS__URL", "redis://env:2/0")
            .env("MANAGE_HTTP__TIMEOUT", "3"),
    );
    assert_eq!(get(&v), "redis://env:2/0", "environment beats the file");
    assert_eq!(v["http"]["timeout"], 3.0);
    assert_eq!(
        get(&effective(
            dir.path(),
            manage(dir.path()).env("MANAGE_REDIS_URL", "redis://short:3/0")
        )),
        "redis://short:3/0"
    );

    let v = effective(
        dir.path(),
        manage(dir.path())
            .env("MANAGE_REDIS__URL", "redis://env:2/0")
            .args(["--redis-url", "redis://flag:4/0", "--set", "http.timeout=7"]),
    );
    assert_eq!(get(&v), "redis://flag:4/0", "flags beat the environment");
    assert_eq!(v["http"]["timeout"], 7.0);

    let other = dir.path().join("other.toml");
    fs::write(&other, "[redis]\nurl = \"redis://other:5/0\"\n").unwrap();
    assert_eq!(
        get(&effective(
            dir.path(),
            manage(dir.path()).arg("--config").arg(&other)
        )),
        "redis://other:5/0"
    );
    assert_eq!(
        get(&effective(
            dir.path(),
            manage(dir.path()).env("MANAGE_CONFIG", &other)
        )),
        "redis://other:5/0"
    );
}

#[test]
fn secrets_are_hidden_in_diffsettings() {
    let dir = temp();
    let out =
        run(manage(dir.path()).args(["--redis-url", "redis://:hunter2@db:6379/0", "diffsettings"]));
    assert!(out.status.success());
    assert!(!stdout(&out).contains("hunter2"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("redis://:***@db:6379/0"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_config_names_the_file_the_key_and_the_expectation() {
    let dir = temp();
    let file = dir.path().join("manage.toml");

    fs::write(&file, "[http]\ntimeout = \"soon\"\n").unwrap();
    let out = run(manage(dir.path()).args(["check", "--skip-redis"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("CommandError: "), "{err}");
    assert!(
        err.contains("manage.toml") && err.contains("http.timeout") && err.contains("expected"),
        "{err}"
    );

    fs::write(&file, "[redis]\nulr = \"redis://x\"\n").unwrap();
    let err = stderr(&run(manage(dir.path()).args(["check", "--skip-redis"])));
    assert!(
        err.contains("manage.toml") && err.contains("ulr") && err.contains("unknown field"),
        "{err}"
    );

    fs::write(&file, "[redis\nurl = 1\n").unwrap();
    let out = run(manage(dir.path()).args(["check", "--skip-redis"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("manage.toml"), "{}", stderr(&out));

    fs::write(&file, "[redis]\nurl = \"http://nope\"\n").unwrap();
    let err = stderr(&run(manage(dir.path()).args(["check", "--skip-redis"])));
    assert!(
        err.contains("manage.toml") && err.contains("redis.url") && err.contains("expected"),
        "{err}"
    );

    fs::remove_file(&file).unwrap();
    let out = run(manage(dir.path())
        .args(["check", "--skip-redis"])
        .env("MANAGE_HTTP__TIMEOUT", "soon"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("http.timeout"), "{}", stderr(&out));

    let out = run(manage(dir.path()).args(["--config", "missing.toml", "check"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("missing.toml: configuration file not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_reaches_a_live_redis_and_reports_a_dead_one() {
    let dir = temp();
    let redis = RedisServer::start();
    let out = run(manage(dir.path()).args(["check", "--redis-url", &redis.url()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("System check identified no issues."));

    let dead = format!("redis://:sekrit@127.0.0.1:{}/0", support::free_port());
    let out =
        run(manage(dir.path()).args(["check", "--redis-url", &dead, "--set", "http.timeout=-1"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach Redis at redis://:***@127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("http.timeout"),
        "every problem is listed: {err}"
    );
    assert!(err.contains("System check identified 2 issues."), "{err}");
    assert!(!err.contains("sekrit"), "password hidden: {err}");
}

#[test]
fn traceback_prints_the_cause_chain() {
    let dir = temp();
    let out = run(manage(dir.path()).args(["--config", "nope.toml", "--traceback", "check"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("CommandError: nope.toml: configuration file not found"));
}

#[test]
fn completions_are_generated_for_bash_and_zsh() {
    let dir = temp();
    let bash = run(manage(dir.path()).args(["completions", "bash"]));
    assert!(bash.status.success());
    let text = stdout(&bash);
    assert!(
        text.contains("_manage()") && text.contains("diffsettings") && text.contains("--verbosity"),
        "{text}"
    );
    let zsh = run(manage(dir.path()).args(["completions", "zsh"]));
    assert!(stdout(&zsh).contains("#compdef manage"));
}

#[test]
fn another_crate_adds_its_own_command() {
    let example = support::manage_bin()
        .parent()
        .unwrap()
        .join("examples/custom_manage");
    if !example.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", "custom_manage"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let dir = temp();
    let listing = run(Command::new(&example).arg("help").current_dir(dir.path()));
    let text = stdout(&listing);
    assert!(
        text.contains("[demo]") && text.contains("greet") && text.contains("check"),
        "{text}"
    );
    let out = run(Command::new(&example)
        .args(["greet", "--name", "Ada", "--times", "2"])
        .current_dir(dir.path()));
    assert!(out.status.success());
    assert_eq!(stdout(&out), "Hello, Ada!\nHello, Ada!\n");
    let bad = run(Command::new(&example)
        .args(["greet", "--times", "many"])
        .current_dir(dir.path()));
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn logs_go_to_stderr_as_text_or_json_at_the_chosen_verbosity() {
    let redis = RedisServer::start();
    let dir = temp();
    let out = run(manage(dir.path()).args([
        "--log-format",
        "json",
        "rqworker",
        "--burst",
        "--redis-url",
        &redis.url(),
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "logs never go to stdout");
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO"
            && l["message"].as_str().unwrap_or_default().contains("Worker")),
        "{lines:?}"
    );

    let quiet = run(manage(dir.path()).args([
        "-v",
        "0",
        "rqworker",
        "--burst",
        "--redis-url",
        &redis.url(),
    ]));
    assert!(quiet.status.success());
    assert!(
        stderr(&quiet).is_empty(),
        "verbosity 0 hides info lines: {}",
        stderr(&quiet)
    );
}
