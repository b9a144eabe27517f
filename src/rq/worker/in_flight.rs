//! The jobs a worker is running now: what heartbeats refresh, what `stop-job` and a cold
//! shutdown interrupt, and what tells the worker it is idle.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use tokio::sync::oneshot;

use super::execute::Interrupt;

/// One running job.
struct Running {
    queue: String,
    /// Its started-registry member, `<id>:<execution>`.
    member: String,
    /// Taken when the job is interrupted, so it is interrupted once.
    interrupt: Option<oneshot::Sender<Interrupt>>,
}

/// The running jobs by id. Each method holds the lock only for its own short step.
#[derive(Default)]
pub struct InFlight {
    jobs: Mutex<HashMap<String, Running>>,
}

impl InFlight {
    /// A panic elsewhere while holding the lock leaves the map itself consistent (every
    /// operation is one insert or remove), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a job that starts now; the receiver says when it is interrupted.
    pub fn insert(&self, id: &str, queue: &str, execution: &str) -> oneshot::Receiver<Interrupt> {
        let (interrupt, interrupted) = oneshot::channel();
        self.lock().insert(
            id.to_string(),
            Running {
                queue: queue.to_string(),
                member: format!("{id}:{execution}"),
                interrupt: Some(interrupt),
            },
        );
        interrupted
    }

    /// Forgets a job that ended.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many jobs run now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing runs.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Interrupts one job; false when it does not run here (or was interrupted already).
    pub fn interrupt(&self, id: &str, why: Interrupt) -> bool {
        let sender = self.lock().get_mut(id).and_then(|job| job.interrupt.take());
        sender.is_some_and(|tx| tx.send(why).is_ok())
    }

    /// Interrupts every running job; returns how many were told.
    pub fn interrupt_all(&self, why: Interrupt) -> usize {
        let senders: Vec<_> = self
            .lock()
            .values_mut()
            .filter_map(|job| job.interrupt.take())
            .collect();
        senders
            .into_iter()
            .filter(|tx| !tx.is_closed())
            .fold(0, |told, tx| told + usize::from(tx.send(why).is_ok()))
    }

    /// `(queue, started-registry member)` of every running job, for heartbeats.
    pub fn members(&self) -> Vec<(String, String)> {
        self.lock()
            .values()
            .map(|job| (job.queue.clone(), job.member.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_interrupted_once() {
        let running = InFlight::default();
        let mut a = running.insert("a", "default", "e1");
        let mut b = running.insert("b", "high", "e2");
        assert_eq!(running.len(), 2);
        assert!(running.interrupt("a", Interrupt::Stop));
        assert!(!running.interrupt("a", Interrupt::Stop));
        assert!(!running.interrupt("nope", Interrupt::Stop));
        assert_eq!(a.try_recv(), Ok(Interrupt::Stop));
        assert_eq!(running.interrupt_all(Interrupt::Requeue), 1);
        assert_eq!(b.try_recv(), Ok(Interrupt::Requeue));
        let mut members = running.members();
        members.sort();
        assert_eq!(
            members,
            [
                ("default".to_string(), "a:e1".to_string()),
                ("high".into(), "b:e2".into())
            ]
        );
        running.remove("a");
        running.remove("b");
        assert!(running.is_empty());
    }
}
