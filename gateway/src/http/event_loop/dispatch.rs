//! The event loop's hand-off to workers: which waiting job runs next (fairly across client
//! addresses), and what comes back from workers, drain threads and the parker.

use super::*;

impl Loop {
    /// The next waiting job to run: of the addresses with the fewest jobs running (and under
    /// their cap), the oldest. A client that already has workers waits behind one that has none.
    fn next_waiting(&self) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, key) in self.waiting.iter().enumerate() {
            let Some(c) = self.conns.get(key) else { return Some(i) };
            let running = self.inflight_ip.get(&c.ip()).copied().unwrap_or(0);
            if running >= self.limits.max_inflight_per_ip {
                continue;
            }
            if best.is_none_or(|(_, r)| running < r) {
                best = Some((i, running));
                if running == 0 {
                    break;
                }
            }
        }
        best.map(|(i, _)| i)
    }

    /// Hands waiting jobs to idle workers, fairly across addresses (`next_waiting`).
    pub(super) fn pump(&mut self) {
        while self.idle_workers > 0 {
            let Some(i) = self.next_waiting() else { return };
            let key = self.waiting[i];
            let Some(c) = self.conns.get_mut(&key) else {
                self.waiting.remove(i);
                continue;
            };
            let ip = c.ip();
            let job = match &mut c.phase {
                Phase::Ready(_) => {
                    let Phase::Ready(ready) = std::mem::replace(&mut c.phase, Phase::Busy) else { unreachable!() };
                    let remote = c.remote;
                    self.unregister(key);
                    let c = self.conns.get_mut(&key).expect("still there");
                    let Some(stream) = c.stream.take() else {
                        self.waiting.remove(i);
                        self.close(key);
                        continue;
                    };
                    self.waiting.remove(i);
                    Job::Http { key, stream, remote, ready }
                }
                Phase::WebSocket(ws) => {
                    if ws.inflight >= self.limits.ws_max_inflight {
                        // It waits again when one of its calls is answered (`ws_reply`).
                        self.waiting.remove(i);
                        continue;
                    }
                    let Some(msg) = ws.queued.pop_front() else {
                        self.waiting.remove(i);
                        continue;
                    };
                    ws.inflight += 1;
                    let info = ws.info.clone();
                    if ws.queued.is_empty() {
                        self.waiting.remove(i);
                    } else {
                        // Its next message waits behind the other connections.
                        self.waiting.remove(i);
                        self.waiting.push_back(key);
                    }
                    Job::Ws { key, info, msg }
                }
                _ => {
                    self.waiting.remove(i);
                    continue;
                }
            };
            *self.inflight_ip.entry(ip).or_default() += 1;
            self.idle_workers -= 1;
            let _ = self.jobs.send(job);
        }
    }

    fn worker_free(&mut self, ip: Option<IpAddr>) {
        self.idle_workers += 1;
        if let Some(ip) = ip {
            if let Some(n) = self.inflight_ip.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.inflight_ip.remove(&ip);
                }
            }
        }
    }

    pub(super) fn finished(&mut self, d: Done, now: Instant) {
        match d {
            Done::HandedOff { key } => {
                let ip = self.conns.get(&key).map(Conn::ip);
                self.worker_free(ip);
                self.release(key);
            }
            Done::Http { key, stream, after, worker } => {
                if worker {
                    let ip = self.conns.get(&key).map(Conn::ip);
                    self.worker_free(ip);
                }
                self.release(key);
                let Some(stream) = stream.filter(|s| s.set_nonblocking(true).is_ok()) else {
                    return self.close(key);
                };
                let Some(c) = self.conns.get_mut(&key) else { return };
                c.stream = Some(stream);
                match after {
                    After::Close => return self.close(key),
                    After::Linger => {
                        c.phase = Phase::Closing;
                        c.deadline = Some(now + Duration::from_millis(self.limits.write_timeout_ms));
                        self.register(key);
                        return;
                    }
                    After::KeepAlive => {
                        c.phase = Phase::Head;
                        c.deadline = Some(now + Duration::from_millis(self.limits.idle_timeout_ms));
                        if !c.buf.is_empty() {
                            // A pipelined request is already here.
                            c.deadline = Some(now + Duration::from_millis(self.limits.head_timeout_ms));
                        }
                    }
                    After::Parked => {
                        c.phase = Phase::Parked;
                        c.deadline = None;
                    }
                }
                self.register(key);
                self.advance(key, now);
            }
            Done::Respond { key, bytes, keep_alive } => {
                let Some(c) = self.conns.get_mut(&key) else { return };
                c.queue_output(&bytes, now);
                if keep_alive {
                    c.phase = Phase::Head;
                    c.deadline = Some(now + Duration::from_millis(self.limits.idle_timeout_ms));
                } else {
                    c.phase = Phase::Closing;
                    c.deadline = Some(now + Duration::from_millis(self.limits.write_timeout_ms));
                }
                self.flush(key, now);
                self.advance(key, now);
            }
            Done::Ws { key, reply } => {
                let ip = self.conns.get(&key).map(Conn::ip);
                self.worker_free(ip);
                self.ws_reply(key, reply, true, now);
            }
            Done::WsLater { key, reply } => self.ws_reply(key, Some(reply), false, now),
        }
    }
}
