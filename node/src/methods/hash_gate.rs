//! A node-wide cap on password hashes running at once. Each argon2 hash takes about 19 MiB, so
//! the cap bounds that memory; a caller beyond it waits a while for a slot, then gives up.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct HashGate {
    cap: usize,
    /// Slots in use, and the most ever in use at once.
    state: Mutex<(usize, usize)>,
    freed: Condvar,
}

/// A held slot; dropping it frees the slot.
pub struct Permit<'a>(&'a HashGate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.0 -= 1;
        }
        self.0.freed.notify_one();
    }
}

impl HashGate {
    pub fn new(cap: usize) -> Self {
        HashGate { cap: cap.max(1), state: Mutex::new((0, 0)), freed: Condvar::new() }
    }

    /// A slot, waiting up to `wait` for one to free; `None` if none did.
    pub fn acquire(&self, wait: Duration) -> Option<Permit<'_>> {
        let s = self.state.lock().ok()?;
        let (mut s, timeout) = self.freed.wait_timeout_while(s, wait, |s| s.0 >= self.cap).ok()?;
        if timeout.timed_out() && s.0 >= self.cap {
            return None;
        }
        s.0 += 1;
        s.1 = s.1.max(s.0);
        Some(Permit(self))
    }

    /// The most slots ever held at once.
    pub fn peak(&self) -> usize {
        self.state.lock().map(|s| s.1).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn at_most_cap_run_at_once() {
        let gate = Arc::new(HashGate::new(2));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let t = Instant::now();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let _p = gate.acquire(Duration::from_secs(30)).expect("a slot within 30 s");
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "{} at once", most.load(Ordering::SeqCst));
        // 8 sleeps of 50 ms, two at a time.
        assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
        assert_eq!(gate.peak(), most.load(Ordering::SeqCst));
    }

    #[test]
    fn a_caller_beyond_the_cap_waits_then_gives_up() {
        let gate = HashGate::new(1);
        let held = gate.acquire(Duration::ZERO).unwrap();
        let t = Instant::now();
        assert!(gate.acquire(Duration::from_millis(150)).is_none());
        assert!(t.elapsed() >= Duration::from_millis(150));
        assert!(gate.acquire(Duration::ZERO).is_none());
        drop(held);
        assert!(gate.acquire(Duration::ZERO).is_some());
        // A slot freed while a caller waits goes to it.
        let gate = Arc::new(HashGate::new(1));
        let held = gate.acquire(Duration::ZERO).unwrap();
        let g = gate.clone();
        let waiter = std::thread::spawn(move || g.acquire(Duration::from_secs(30)).is_some());
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
    }
}
