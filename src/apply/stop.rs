//! Ending an apply early without losing track of it: on a signal (Ctrl-C, a cancelled CI job)
//! or when the run deadline passes. Once asked to stop, apply starts no new change; changes in
//! flight get [`GRACE`] to finish (a write cut off mid-way is the one whose outcome nobody
//! knows), then are abandoned and reported with an unknown outcome, and a webhook registration
//! among them is recorded as a lost secret so the next plan replaces it. The report is then
//! printed as usual.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long changes in flight may take to finish after a stop was asked for. Vipps answers in
/// well under a second, and CI systems allow a few seconds between the cancelling signal and
/// SIGKILL (GitHub Actions sends SIGINT, then SIGTERM 7.5 s later, SIGKILL 2.5 s after that),
/// so 5 s lets a normal answer arrive and still leaves time to write the report and the
/// lost-secrets record.
pub const GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Running,
    /// No new change starts; in-flight ones may finish.
    Stopping(String),
    /// In-flight changes are abandoned too.
    Abandoned(String),
}

/// Shared by the caller that decides to stop and the apply that obeys. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop {
    state: Arc<watch::Sender<State>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            state: Arc::new(watch::Sender::new(State::Running)),
        }
    }
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start no new change; abandon the ones in flight after `grace`. `reason` ends up in the
    /// report ("interrupted by SIGTERM"). Only the first request counts. Needs a Tokio runtime.
    pub fn request(&self, reason: impl Into<String>, grace: Duration) {
        let reason = reason.into();
        let first = self.state.send_if_modified(|s| match s {
            State::Running => {
                *s = State::Stopping(reason.clone());
                true
            }
            _ => false,
        });
        if !first {
            return;
        }
        let state = Arc::clone(&self.state);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            state.send_modify(|s| *s = State::Abandoned(reason));
        });
    }

    /// Why the apply is stopping, once it is.
    pub fn reason(&self) -> Option<String> {
        match &*self.state.borrow() {
            State::Running => None,
            State::Stopping(r) | State::Abandoned(r) => Some(r.clone()),
        }
    }

    /// Resolves once changes in flight are to be abandoned; never before.
    pub async fn abandoned(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| matches!(s, State::Abandoned(_))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_wins_and_abandoning_follows_the_grace() {
        let stop = Stop::new();
        assert_eq!(stop.reason(), None);
        stop.request("interrupted by SIGINT", Duration::from_millis(20));
        stop.request("the deadline passed", Duration::ZERO);
        assert_eq!(stop.reason().as_deref(), Some("interrupted by SIGINT"));
        tokio::time::timeout(Duration::from_secs(5), stop.abandoned())
            .await
            .expect("abandoned after the grace");
        assert_eq!(stop.reason().as_deref(), Some("interrupted by SIGINT"));
    }
}
