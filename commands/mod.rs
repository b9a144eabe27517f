//! The built-in commands. Each file is one command: its arguments, its handler and its
//! registration. Adding a command is adding a file and a line here.

mod background_tasks;
mod check;
mod completions;
mod deliveries;
mod diffsettings;
mod enqueue_event;
mod event_gateway;
mod requeue_failed;
mod rqclean;
mod rqempty;
mod rqenqueue;
mod rqjob;
mod rqjobs;
mod rqresume;
mod rqstats;
mod rqsuspend;
mod rqworker;
mod webhook_receiver;
mod webhooks;

use crate::{tasks::TaskError, CommandError, Context};

/// A background-task error as the command line reports it: Redis outages name the
/// (password-free) URL, bad input is a usage error (exit 2), everything else exit 1.
fn task_error(ctx: &Context, error: TaskError) -> CommandError {
    match error {
        TaskError::Redis(e) => ctx.unreachable(e),
        TaskError::Invalid(text) => CommandError::new(text).with_code(2),
        other => CommandError::new(other),
    }
}
