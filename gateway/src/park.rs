//! Long polls without a thread each: a method that would wait (`PullMsg`) hands back a [`Park`]
//! — how to check for its answer, until when, and the [`Signal`] that says "check again". The
//! HTTP server keeps parked calls on one thread; a caller that may block (a background task)
//! waits on the signal with [`Park::wait`].

use serde_json::Value;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

type Listener = Weak<dyn Fn() + Send + Sync>;

/// Something parked calls wait for (a mailbox got a message). Cheap to notify.
#[derive(Default)]
pub struct Signal {
    generation: Mutex<u64>,
    changed: Condvar,
    listeners: Mutex<Vec<Listener>>,
}

impl Signal {
    pub fn notify(&self) {
        if let Ok(mut g) = self.generation.lock() {
            *g += 1;
        }
        self.changed.notify_all();
        let live: Vec<_> = match self.listeners.lock() {
            Ok(mut l) => {
                l.retain(|w| w.strong_count() > 0);
                l.iter().filter_map(Weak::upgrade).collect()
            }
            Err(_) => Vec::new(),
        };
        for f in live {
            f();
        }
    }

    /// Calls `f` on every notify while `f` is alive elsewhere.
    pub fn listen(&self, f: &Arc<dyn Fn() + Send + Sync>) {
        if let Ok(mut l) = self.listeners.lock() {
            if !l.iter().any(|w| w.upgrade().is_some_and(|g| Arc::ptr_eq(&g, f))) {
                l.push(Arc::downgrade(f));
            }
        }
    }

    fn generation(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until a notify after `seen` or `deadline`.
    fn wait_past(&self, seen: u64, deadline: Instant) {
        let Ok(mut g) = self.generation.lock() else { return };
        while *g == seen {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            match self.changed.wait_timeout(g, deadline - now) {
                Ok((guard, _)) => g = guard,
                Err(_) => return,
            }
        }
    }
}

/// A call waiting for its answer.
pub struct Park {
    pub deadline: Instant,
    /// The answer if it is there now.
    pub poll: Box<dyn FnMut() -> Option<Value> + Send>,
    /// The answer when the deadline passes first.
    pub on_timeout: Value,
    pub signal: Arc<Signal>,
}

impl Park {
    pub fn new(
        wait: Duration,
        signal: Arc<Signal>,
        on_timeout: Value,
        poll: impl FnMut() -> Option<Value> + Send + 'static,
    ) -> Self {
        Park { deadline: Instant::now() + wait, poll: Box::new(poll), on_timeout, signal }
    }

    /// Blocks this thread until the answer or the deadline.
    pub fn wait(mut self) -> Value {
        loop {
            let seen = self.signal.generation();
            if let Some(v) = (self.poll)() {
                return v;
            }
            if Instant::now() >= self.deadline {
                return self.on_timeout;
            }
            self.signal.wait_past(seen, self.deadline);
        }
    }

    /// The answer now, or the timeout value (a batch of calls does not wait).
    pub fn now(mut self) -> Value {
        (self.poll)().unwrap_or(self.on_timeout)
    }
}

/// What a method gives back: its answer, or a parked wait for it.
pub enum Polled {
    Ready(Value),
    Wait(Park),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_blocking_wait_ends_on_notify_or_deadline() {
        let sig = Arc::new(Signal::default());
        let slot = Arc::new(Mutex::new(None::<Value>));
        let s2 = slot.clone();
        let park = Park::new(Duration::from_secs(5), sig.clone(), Value::Null, move || s2.lock().unwrap().take());
        let (sig2, slot2) = (sig.clone(), slot.clone());
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            *slot2.lock().unwrap() = Some(Value::from("hi"));
            sig2.notify();
        });
        let started = Instant::now();
        assert_eq!(park.wait(), Value::from("hi"));
        assert!(started.elapsed() < Duration::from_secs(2));
        t.join().unwrap();
        let park = Park::new(Duration::from_millis(30), sig, Value::from(""), || None);
        assert_eq!(park.wait(), Value::from(""));
    }

    #[test]
    fn listeners_are_called_while_alive() {
        let sig = Signal::default();
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let f: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        sig.listen(&f);
        sig.listen(&f);
        sig.notify();
        assert_eq!(n.load(Ordering::SeqCst), 1, "one listener, registered once");
        drop(f);
        sig.notify();
        assert_eq!(n.load(Ordering::SeqCst), 1);
    }
}
