//! `PullMsg`: the next message for the session's user, parked until one is posted.

use super::*;

pub(super) fn register<B: Backend>(reg: &mut Registry, api: &Arc<DbApi<B>>) {
    // PullMsg(sid, waitSeconds) → the next message for the session's user, or "" after the wait.
    // A wait is parked, not a thread held: the HTTP server answers when a message is posted.
    let a = api.clone();
    reg.register_long_poll("PullMsg", false, move |call| {
        let secs = call.args.first().and_then(Value::as_f64).unwrap_or(0.0).clamp(0.0, 60.0);
        // A guest has no queue: nothing ever comes.
        let Some(user) = queue_of(&call) else {
            return Ok(gateway::park::Polled::Ready(Value::String(String::new())));
        };
        if let Some(m) = a.mail.take(&user) {
            return Ok(gateway::park::Polled::Ready(Value::String(m)));
        }
        if secs == 0.0 {
            return Ok(gateway::park::Polled::Ready(Value::String(String::new())));
        }
        let a = a.clone();
        let wait = Duration::from_secs_f64(secs);
        Ok(gateway::park::Polled::Wait(gateway::park::Park::new(
            wait,
            a.mail.posted.clone(),
            Value::String(String::new()),
            move || a.mail.take(&user).map(Value::String),
        )))
    });
}
