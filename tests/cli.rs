//! The command line as a user meets it: help, unknown commands, bad flags, common options,
//! layered settings and their errors, `check`, completions, and a command added by another crate.

mod support;

use std::{fs, process::Command, time::Duration};

use support::{manage, run, stderr, stdout, ClosedPort, RedisServer};

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

fn effective(command: &mut Command) -> serde_json::Value {
    let out = run(command.args(["diffsettings", "--all", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn settings_layers_file_then_environment_then_flags() {
    let dir = temp();
    let get = |v: &serde_json::Value| v["redis"]["url"].as_str().unwrap().to_string();
    assert_eq!(
        get(&effective(&mut manage(dir.path()))),
        "redis://127.0.0.1:6379/0",
        "built-in default"
    );

    fs::write(
        dir.path().join("manage.toml"),
        "[redis]\nurl = \"redis://file:1/0\"\n[http]\ntimeout = 12.5\n",
    )
    .unwrap();
    let v = effective(&mut manage(dir.path()));
    assert_eq!(
        get(&v),
        "redis://file:1/0",
        "manage.toml in the working directory"
    );
    assert_eq!(v["http"]["timeout"], 12.5);

    let v = effective(
        manage(dir.path())
            .env("MANAGE_REDIS__URL", "redis://env:2/0")
            .env("MANAGE_HTTP__TIMEOUT", "3"),
    );
    assert_eq!(get(&v), "redis://env:2/0", "environment beats the file");
    assert_eq!(v["http"]["timeout"], 3.0);
    assert_eq!(
        get(&effective(
            manage(dir.path()).env("MANAGE_REDIS_URL", "redis://short:3/0")
        )),
        "redis://short:3/0"
    );

    let v = effective(
        manage(dir.path())
            .env("MANAGE_REDIS__URL", "redis://env:2/0")
            .args(["--redis-url", "redis://flag:4/0", "--set", "http.timeout=7"]),
    );
    assert_eq!(get(&v), "redis://flag:4/0", "flags beat the environment");
    assert_eq!(v["http"]["timeout"], 7.0);

    let other = dir.path().join("other.toml");
    fs::write(&other, "[redis]\nurl = \"redis://other:5/0\"\n").unwrap();
    assert_eq!(
        get(&effective(manage(dir.path()).arg("--config").arg(&other))),
        "redis://other:5/0"
    );
    assert_eq!(
        get(&effective(manage(dir.path()).env("MANAGE_CONFIG", &other))),
        "redis://other:5/0"
    );
}

/// Addresses and tokens are text however they look: from the environment (which reads numbers)
/// a token of digits keeps its leading zeros and a bare port is a port; in the file a bare port
/// may be written as a number.
#[test]
fn settings_that_look_like_numbers_stay_text() {
    let dir = temp();
    let v = effective(
        manage(dir.path())
            .env("MANAGE_WORKER__METRICS_BIND", "9121")
            .env("MANAGE_GATEWAY__BIND", "0.0.0.0:0090"),
    );
    assert_eq!(v["worker"]["metrics_bind"], "9121");
    assert_eq!(v["gateway"]["bind"], "0.0.0.0:0090");
    fs::write(
        dir.path().join("manage.toml"),
        "[worker]\nmetrics_bind = 9122\n",
    )
    .unwrap();
    assert_eq!(
        effective(&mut manage(dir.path()))["worker"]["metrics_bind"],
        "9122"
    );

    let redis = RedisServer::start();
    let token = "0012345678901234567";
    let mut page = support::Running::spawn(
        None,
        &[
            ("MANAGE_REDIS_URL", &redis.url()),
            ("MANAGE_UI__TOKEN", token),
        ],
        &["background_tasks", "--bind", "127.0.0.1:0"],
    );
    let url = support::background_tasks_url(&page);
    assert!(url.ends_with(&format!("?token={token}")), "{url}");
    page.stop(libc::SIGTERM, Duration::from_secs(20));
}

#[test]
fn secrets_are_hidden_in_diffsettings() {
    let dir = temp();
    let out =
        run(manage(dir.path()).args(["--redis-url", "redis://hunter2@db:6379/0", "diffsettings"]));
    assert!(out.status.success());
    assert!(!stdout(&out).contains("hunter2"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("redis://***@db:6379/0"),
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

    // A timeout no clock can hold is a problem listed by check, never a crash.
    let closed = ClosedPort::new();
    for value in ["-1", "nan", "inf"] {
        let out = run(manage(dir.path()).args([
            "--redis-url",
            &format!("redis://127.0.0.1:{}/0", closed.port()),
            "--set",
            &format!("redis.connect_timeout={value}"),
            "check",
        ]));
        assert_eq!(out.status.code(), Some(1), "{value}: {}", stderr(&out));
        assert!(
            stderr(&out)
                .contains("key 'redis.connect_timeout': expected a positive number of seconds"),
            "{value}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn check_reaches_a_live_redis_and_reports_a_dead_one() {
    let dir = temp();
    let redis = RedisServer::start();
    let out = run(manage(dir.path()).args(["check", "--redis-url", &redis.url()]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("System check identified no issues."));

    let closed = ClosedPort::new();
    let dead = format!("redis://:sekrit@127.0.0.1:{}/0", closed.port());
    let out =
        run(manage(dir.path()).args(["check", "--redis-url", &dead, "--set", "http.timeout=-1"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot reach Redis at redis://***@127.0.0.1:{}/0",
            closed.port()
        )),
        "{err}"
    );
    assert!(
        err.contains("http.timeout"),
        "every problem is listed: {err}"
    );
    assert!(err.contains("System check identified 2 issues."), "{err}");
    assert!(!err.contains("sekrit"), "password hidden: {err}");
}

/// Options of `fail_with_causes`, a command this test binary adds to show `--traceback`.
#[derive(clap::Args, Debug)]
struct FailArgs {}

manage::command! {
    name: "fail_with_causes", group: "test", about: "Fail with an error that has causes",
    args: FailArgs, run: fail_with_causes, requires_system_checks: false,
}

async fn fail_with_causes(_ctx: manage::Context, _args: FailArgs) -> manage::CommandResult {
    let root = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
    Err(anyhow::Error::new(root)
        .context("cannot open a connection to 10.9.8.7:25")
        .context("the report could not be mailed")
        .into())
}

#[test]
fn traceback_prints_the_cause_chain() {
    let plain = manage::call_command("fail_with_causes", Vec::<String>::new());
    assert_eq!(plain.code, 1);
    assert_eq!(
        plain.stderr,
        "CommandError: the report could not be mailed\n  (cannot open a connection to 10.9.8.7:25: connection refused)\n"
    );
    let traced = manage::call_command("fail_with_causes", ["--traceback"]);
    assert_eq!(traced.code, 1);
    assert_eq!(
        traced.stderr,
        "CommandError: the report could not be mailed\nCaused by: cannot open a connection to 10.9.8.7:25\nCaused by: connection refused\n"
    );
    // The built-in commands take --traceback too, before or after their name.
    let dir = temp();
    for args in [
        ["--traceback", "--config", "nope.toml", "check"],
        ["--config", "nope.toml", "check", "--traceback"],
    ] {
        let out = run(manage(dir.path()).args(args));
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            stderr(&out),
            "CommandError: nope.toml: configuration file not found\n"
        );
    }
}

/// Runs `script` (a completion script for `shell`) in that shell and asks it to complete
/// `line`; returns what the shell offered, or `None` when the shell is not installed.
fn complete_in(shell: &str, script: &str, line: &str) -> Option<String> {
    let dir = temp();
    let file = dir.path().join("completion");
    fs::write(&file, script).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    let program = match shell {
        "bash" => format!(
            "source {file}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT={point}\n_manage manage '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file = file.display(),
            words = words.join(" "),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        ),
        "fish" => format!("source {}\ncomplete -C '{line}'", file.display()),
        "zsh" => format!(
            "autoload -U compinit && compinit -u -D\nsource {}\nprint -r -- ${{_comps[manage]}}",
            file.display()
        ),
        other => panic!("no way to run {other}"),
    };
    let flags: &[&str] = if shell == "zsh" {
        &["-f", "-c"]
    } else {
        &["-c"]
    };
    let out = match Command::new(shell)
        .args(flags)
        .arg(program)
        .current_dir(dir.path())
        .output()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        other => other.unwrap(),
    };
    assert!(out.status.success(), "{shell}: {}", stderr(&out));
    Some(stdout(&out))
}

#[test]
fn completions_are_generated_for_every_shell_offered() {
    let dir = temp();
    let help = stdout(&run(manage(dir.path()).arg("help")));
    let commands: Vec<&str> = help
        .lines()
        .filter(|l| l.starts_with("    "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    // One command per file of commands/ (mod.rs only lists them).
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/commands"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "mod.rs")
        .count();
    assert_eq!(commands.len(), files, "{help}");
    let mut ran = Vec::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(manage(dir.path()).args(["completions", shell]));
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in commands
            .iter()
            .copied()
            .chain(["verbosity", "max-idle-time"])
        {
            assert!(script.contains(word), "{shell}: {word} is not offered");
        }
        let offered = match shell {
            "bash" | "fish" => complete_in(shell, &script, "manage rqw"),
            "zsh" => complete_in(shell, &script, "manage"),
            _ => None,
        };
        let Some(offered) = offered else { continue };
        ran.push(shell);
        if shell == "zsh" {
            assert_eq!(offered.trim(), "_manage", "compdef registers _manage");
            continue;
        }
        assert!(
            offered.lines().any(|l| l.starts_with("rqworker")),
            "{shell} completes rqw to rqworker: {offered:?}"
        );
        let options = complete_in(shell, &script, "manage rqworker --max-").unwrap();
        let mut options: Vec<&str> = options
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        options.sort_unstable();
        assert_eq!(options, ["--max-idle-time", "--max-jobs"], "{shell}");
    }
    assert!(
        ran.contains(&"bash"),
        "bash is always there to run its script"
    );
    eprintln!("completion scripts run in: {ran:?}");
    let bad = run(manage(dir.path()).args(["completions", "tcsh"]));
    assert_eq!(bad.status.code(), Some(2));
}

/// A fake Redis on loopback that answers `CLIENT …` (what a client sends while connecting)
/// with `+OK` when `handshake` is true, and never answers anything else. Returns its port.
fn hung_redis(handshake: bool) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                // Reads RESP arrays of bulk strings: `*N`, then N times `$len` and the bytes.
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let count: usize = line.trim_start_matches('*').trim().parse().unwrap();
                    let mut words = Vec::new();
                    for _ in 0..count {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        let len: usize = line.trim_start_matches('$').trim().parse().unwrap();
                        let mut word = vec![0; len + 2];
                        reader.read_exact(&mut word).unwrap();
                        words.push(String::from_utf8_lossy(&word[..len]).to_uppercase());
                    }
                    if handshake && words.first().map(String::as_str) == Some("CLIENT") {
                        writer.write_all(b"+OK\r\n").unwrap();
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_hung_redis_fails_a_command_instead_of_hanging() {
    // One server never answers at all (connecting times out), the other answers while the
    // client connects and then never again (the reply times out).
    let servers = [hung_redis(false), hung_redis(true)];
    let dir = temp();
    let commands = [
        &["rqstats", "--json"][..],
        &["rqenqueue", "manage.echo"],
        &["rqworker", "--burst"],
    ];
    let mut running = Vec::new();
    for port in servers {
        let url = format!("redis://:pw@127.0.0.1:{port}/0");
        for command in commands {
            let mut args = vec!["--redis-url", url.as_str()];
            args.extend([
                "--set",
                "redis.connect_timeout=1",
                "--set",
                "redis.reply_timeout=1",
            ]);
            args.extend_from_slice(command);
            running.push((
                port,
                command,
                support::Running::spawn(Some(dir.path()), &[], &args),
            ));
        }
    }
    // Without the timeouts these would wait forever, and with the default reply timeout (30 s)
    // longer than this test waits.
    for (port, command, running) in &mut running {
        let status = running.wait(Duration::from_secs(20));
        assert_eq!(status.code(), Some(1), "{command:?}: {}", running.output());
        let err = running.stderr();
        assert!(
            err.lines().last().unwrap_or_default().starts_with(&format!(
                "CommandError: cannot reach Redis at redis://***@127.0.0.1:{port}/0: "
            )),
            "{command:?}: {err}"
        );
        assert!(!err.contains(":pw@"), "{err}");
    }
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

#[test]
fn colour_is_off_off_a_terminal_and_forced_or_refused_by_flag() {
    let dir = temp();
    let closed = ClosedPort::new();
    let dead = format!("redis://127.0.0.1:{}/0", closed.port());
    let log = |flags: &[&str], no_color_env: bool| {
        let mut command = manage(dir.path());
        if !no_color_env {
            command.env_remove("NO_COLOR");
        }
        let out = run(command
            .args(flags)
            .args(["rqworker", "--burst", "--redis-url", &dead]));
        assert_eq!(out.status.code(), Some(1));
        stderr(&out)
    };
    assert!(
        !log(&[], false).contains('\x1b'),
        "not a terminal: no colour"
    );
    assert!(
        log(&["--force-color"], true).contains("\x1b["),
        "forced, even with NO_COLOR"
    );
    assert!(!log(&["--no-color"], false).contains('\x1b'));
}

/// The configuration example in README is what a new user copies first: every key in it must
/// load, and the values it shows must be the ones in effect.
#[test]
fn the_readme_configuration_example_loads_as_written() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("## Configuration")
        .and_then(|at| {
            readme[at..]
                .find("```toml")
                .map(|toml| at + toml + "```toml".len())
        })
        .expect("README has a toml block under Configuration");
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = temp();
    fs::write(dir.path().join("manage.toml"), block).unwrap();

    let out = run(manage(dir.path()).args(["check", "--skip-redis"]));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let out = run(manage(dir.path()).args(["diffsettings", "--all", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let settings: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let at = |path: &str| settings.pointer(path).cloned().unwrap_or_default();
    assert_eq!(at("/worker/failure_ttl"), 604800);
    assert_eq!(at("/webhooks/0/ordering"), "object");
    assert_eq!(at("/webhooks/0/breaker_open"), 60);
    assert_eq!(at("/history/max_per_webhook"), 10000);
    assert_eq!(at("/gateway/bind"), "127.0.0.1:8001");
    assert_eq!(at("/event_rules/0/webhook"), "site-hook");
    assert!(
        !stdout(&out).contains("s3cret"),
        "the example's secret is hidden: {}",
        stdout(&out)
    );
}
