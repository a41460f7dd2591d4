//! Drain threads: responses that outlast `handoff_ms` on a worker (a client reading slowly, or a
//! big file) finish here, one thread each, so workers stay free for everyone else. Bounded in
//! total and per address; a drained response that stalls past `write_timeout_ms`, or averages
//! under `min_send_rate`, is cut off.

use super::pool::Done;
use super::sending::{Pumped, Sending};
use super::Limits;
use std::collections::HashMap;
use std::net::{IpAddr, TcpStream};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct Drains {
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Drains {
    fn acquire(&self, ip: IpAddr, l: &Limits) -> bool {
        let Ok(mut h) = self.held.lock() else { return false };
        let n = h.1.get(&ip).copied().unwrap_or(0);
        if h.0 >= l.max_draining || n >= l.max_draining_per_ip {
            return false;
        }
        h.0 += 1;
        *h.1.entry(ip).or_default() += 1;
        true
    }

    fn release(&self, ip: IpAddr) {
        if let Ok(mut h) = self.held.lock() {
            h.0 -= 1;
            if let Some(n) = h.1.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    h.1.remove(&ip);
                }
            }
        }
    }
}

/// Hands a response to a drain thread; gives it back when none is free.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hand_off(
    drains: &Arc<Drains>,
    limits: &Limits,
    key: usize,
    ip: IpAddr,
    stream: TcpStream,
    sending: Sending,
    done: Sender<Done>,
    wake: Arc<polling::Poller>,
) -> Result<(), (TcpStream, Sending)> {
    if !drains.acquire(ip, limits) {
        return Err((stream, sending));
    }
    let (d, l) = (drains.clone(), limits.clone());
    let (done2, wake2) = (done.clone(), wake.clone());
    // The body may read the store or the network: a modest stack is plenty.
    let spawned = std::thread::Builder::new().name("http-drain".into()).stack_size(256 << 10).spawn(move || {
        let stream = drain(stream, sending, &l);
        d.release(ip);
        let _ = done.send(Done::Http { key, stream, after: super::pool::After::KeepAlive, worker: false });
        let _ = wake.notify();
    });
    match spawned {
        Ok(_) => Ok(()),
        // No thread to be had: the slot is returned and the connection closed.
        Err(_) => {
            drains.release(ip);
            let _ = done2.send(Done::Http { key, stream: None, after: super::pool::After::Close, worker: false });
            let _ = wake2.notify();
            Ok(())
        }
    }
}

/// Writes the rest; the stream back when the connection can carry another request.
fn drain(mut stream: TcpStream, mut sending: Sending, l: &Limits) -> Option<TcpStream> {
    let started = Instant::now();
    let stall = Duration::from_millis(l.write_timeout_ms);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    loop {
        match sending.pump(&mut stream, None) {
            Ok(Pumped::Done) => return sending.keep_alive().then_some(stream),
            Ok(_) => {
                let elapsed = started.elapsed();
                let slow = elapsed > stall && sending.written < l.min_send_rate * elapsed.as_secs();
                if sending.last_progress.elapsed() > stall || slow {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}
