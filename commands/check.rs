//! `manage check`: is this deployment usable? Validates the settings and reaches Redis, listing
//! every problem rather than stopping at the first.

use crate::{CommandError, CommandResult, Context};

/// Options of `manage check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Only check the settings; do not connect to Redis.
    #[arg(long)]
    pub skip_redis: bool,
}

crate::command! {
    name: "check", group: "core", about: "Validate the settings and reach Redis; list every problem",
    args: CheckArgs, run: check, requires_system_checks: false,
}

async fn check(ctx: Context, args: CheckArgs) -> CommandResult {
    let mut problems = ctx.settings_problems().to_vec();
    if let Some(file) = &ctx.config_source().file {
        ctx.out().line(format!("Settings: {}", file.display()));
    }
    let mut warnings = Vec::new();
    if !args.skip_redis {
        match ping(&ctx).await {
            Ok(version) => {
                ctx.out().line(format!(
                    "Redis: {} (redis_version {version})",
                    ctx.redis_display()
                ));
                warnings = shared_queues(&ctx).await;
            }
            Err(e) => problems.push(e.message()),
        }
    }
    for warning in &warnings {
        ctx.err().line(format!("WARNING: {warning}"));
    }
    if problems.is_empty() {
        ctx.out().line(match warnings.len() {
            0 => "System check identified no issues.".to_string(),
            n => format!("System check identified {n} warning(s) and no errors."),
        });
        return Ok(());
    }
    for problem in &problems {
        ctx.err().line(format!("ERROR: {problem}"));
    }
    let noun = if problems.len() == 1 {
        "issue"
    } else {
        "issues"
    };
    Err(CommandError::new(format!(
        "System check identified {} {noun}.",
        problems.len()
    )))
}

/// The queues the worker serves and the rules send to, where other RQ software's jobs or
/// workers are: a warning each, since `rqworker` leaves such queues alone.
async fn shared_queues(ctx: &Context) -> Vec<String> {
    let settings = ctx.settings();
    let mut queues = settings.worker.queues.clone();
    for rule in &settings.event_rules {
        if !queues.contains(&rule.queue) {
            queues.push(rule.queue.clone());
        }
    }
    let names = crate::pipeline::Delivering::function_names();
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    let Ok(mut conn) = ctx.redis().await else {
        return Vec::new();
    };
    match crate::tasks::foreign::survey(&mut conn, &queues, &known).await {
        Ok(found) => found
            .iter()
            .map(|f| {
                format!(
                    "{}; rqworker leaves a queue with pickled jobs, or with jobs of unknown functions and Python workers, to those workers (--take-foreign-jobs fails them instead); give manage a Redis database of its own (redis://host/1) or queues of its own",
                    f.describe()
                )
            })
            .collect(),
        Err(e) => vec![format!("cannot look at the queues: {e}")],
    }
}

async fn ping(ctx: &Context) -> Result<String, CommandError> {
    // A bad connect_timeout is already one of the problems listed; the ping still gets a bound.
    let timeout = std::time::Duration::try_from_secs_f64(ctx.settings().redis.connect_timeout)
        .unwrap_or(std::time::Duration::from_secs(5));
    let attempt = async {
        let mut conn = ctx.redis().await?;
        conn.server_version().await.map_err(|e| ctx.unreachable(e))
    };
    tokio::time::timeout(timeout + std::time::Duration::from_secs(1), attempt)
        .await
        .unwrap_or_else(|_| Err(ctx.unreachable("timed out")))
}
