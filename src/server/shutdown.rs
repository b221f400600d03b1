//! The process was told to stop: long-lived responses (live sockets, event
//! streams) and background tasks (the PostgreSQL listener, the presence
//! exchange) end themselves instead of holding the server open.

/// Set once; every clone sees it.
#[derive(Clone, Debug)]
pub struct Shutdown {
    requested: tokio::sync::watch::Receiver<bool>,
    /// Keeps the channel open when nobody will ever trigger it.
    _never: Option<std::sync::Arc<tokio::sync::watch::Sender<bool>>>,
}

impl Shutdown {
    /// A shutdown, and what triggers it (`send(true)`).
    pub fn new() -> (tokio::sync::watch::Sender<bool>, Shutdown) {
        let (trigger, requested) = tokio::sync::watch::channel(false);
        (
            trigger,
            Shutdown {
                requested,
                _never: None,
            },
        )
    }

    /// One that is never triggered.
    pub fn never() -> Shutdown {
        let (trigger, mut shutdown) = Shutdown::new();
        shutdown._never = Some(std::sync::Arc::new(trigger));
        shutdown
    }

    /// Resolves once the process is stopping (or its trigger is gone).
    pub async fn requested(&self) {
        let mut requested = self.requested.clone();
        let _ = requested.wait_for(|stopping| *stopping).await;
    }

    /// Runs `task` until it ends or the process stops.
    pub async fn or_stop<F: std::future::Future<Output = ()>>(self, task: F) {
        tokio::select! {
            () = task => {}
            () = self.requested() => {}
        }
    }
}
