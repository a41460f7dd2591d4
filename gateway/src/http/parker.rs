//! Parked long polls, all on one thread: each waits for its signal or its deadline, then its
//! answer is handed to `finish` (which sends it back to the event loop).

use crate::park::Park;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

type Finish = Box<dyn FnOnce(Value) + Send>;

struct Entry {
    park: Park,
    finish: Finish,
}

#[derive(Default)]
struct Shared {
    entries: Mutex<Vec<Entry>>,
    /// Set by a signal or a new entry: check every entry again.
    dirty: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
    count: AtomicUsize,
}

pub(crate) struct Parker {
    shared: Arc<Shared>,
    waker: Arc<dyn Fn() + Send + Sync>,
    max: usize,
}

impl Parker {
    pub(super) fn start(max: usize) -> std::io::Result<(Parker, std::thread::JoinHandle<()>)> {
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            if let Ok(mut d) = s.dirty.lock() {
                *d = true;
            }
            s.wake.notify_one();
        });
        let s = shared.clone();
        let t = std::thread::Builder::new().name("http-parked".into()).spawn(move || run(&s))?;
        Ok((Parker { shared, waker, max }, t))
    }

    /// Parks a call; when the parker is full the call is answered at once with what it has.
    pub(super) fn park(&self, park: Park, finish: Finish) {
        if self.shared.count.load(Ordering::SeqCst) >= self.max {
            finish(park.now());
            return;
        }
        park.signal.listen(&self.waker);
        self.shared.count.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut e) = self.shared.entries.lock() {
            e.push(Entry { park, finish });
        }
        (self.waker)();
    }

    pub(super) fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        (self.waker)();
    }
}

fn run(s: &Shared) {
    loop {
        if s.stop.load(Ordering::SeqCst) {
            // Whoever still waits gets the answer it has now.
            let left = s.entries.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default();
            for e in left {
                (e.finish)(e.park.now());
            }
            return;
        }
        let now = Instant::now();
        let mut done = Vec::new();
        let mut next = now + Duration::from_secs(60);
        if let Ok(mut entries) = s.entries.lock() {
            let mut i = 0;
            while i < entries.len() {
                let e = &mut entries[i];
                if let Some(v) = (e.park.poll)() {
                    done.push((entries.swap_remove(i), Some(v)));
                } else if e.park.deadline <= now {
                    done.push((entries.swap_remove(i), None));
                } else {
                    next = next.min(e.park.deadline);
                    i += 1;
                }
            }
        }
        for (e, v) in done {
            s.count.fetch_sub(1, Ordering::SeqCst);
            let v = v.unwrap_or(e.park.on_timeout);
            (e.finish)(v);
        }
        let Ok(mut dirty) = s.dirty.lock() else { return };
        while !*dirty {
            let now = Instant::now();
            if now >= next {
                break;
            }
            match s.wake.wait_timeout(dirty, next - now) {
                Ok((g, _)) => dirty = g,
                Err(_) => return,
            }
        }
        *dirty = false;
    }
}
