//! The built-in commands. Each file is one command: its arguments, its handler and its
//! registration. Adding a command is adding a file and a line here.

mod background_tasks;
mod check;
mod completions;
mod diffsettings;
mod enqueue_event;
mod requeue_failed;
mod rqenqueue;
mod rqjob;
mod rqjobs;
mod rqresume;
mod rqstats;
mod rqsuspend;
mod rqworker;
mod webhook_receiver;
