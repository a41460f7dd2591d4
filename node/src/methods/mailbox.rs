//! Messages for a user (`PullMsg`): what asynchronous work of theirs reports, like the original's
//! backup progress (`ver=N`), and notices such as `Logout`'s `offline`. One queue per user; the
//! owner working with the token has the queue `owner`; a guest has none.

use gateway::api::Call;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Messages kept per user; older ones go first when nobody reads them.
pub const MAX_QUEUED: usize = 100;

#[derive(Default)]
pub struct Mailbox {
    queues: Mutex<HashMap<String, VecDeque<String>>>,
    pub posted: Arc<gateway::park::Signal>,
}

impl Mailbox {
    pub fn post(&self, user: &str, msg: String) {
        if let Ok(mut q) = self.queues.lock() {
            let box_ = q.entry(user.to_string()).or_default();
            box_.push_back(msg);
            while box_.len() > MAX_QUEUED {
                box_.pop_front();
            }
        }
        self.posted.notify();
    }

    /// The next message for `user`, if one is there.
    pub fn take(&self, user: &str) -> Option<String> {
        self.queues.lock().ok()?.get_mut(user)?.pop_front()
    }
}

/// Whose queue a call reads and posts to: its session's user, the owner with the token, or none
/// for a guest.
pub fn queue_of(call: &Call<'_>) -> Option<String> {
    match call.user.as_deref() {
        Some(u) if !u.is_empty() => Some(u.to_string()),
        _ if call.may_write => Some("owner".into()),
        _ => None,
    }
}
