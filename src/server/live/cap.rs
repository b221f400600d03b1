//! At most so many live connections per user, on this instance (a script
//! with one login opened 500). A connection holds a [`Slot`] for as long as
//! it is open; over the cap the upgrade is refused with 429.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Cheap to clone; clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct ConnectionCap {
    /// 0: no cap.
    per_user: usize,
    open: Arc<Mutex<HashMap<i64, usize>>>,
}

impl ConnectionCap {
    /// A cap of `per_user` open connections per user (0: none).
    pub fn new(per_user: usize) -> ConnectionCap {
        ConnectionCap {
            per_user,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection of `user_id`, or `None` at the cap.
    pub fn take(&self, user_id: i64) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user_id).or_default();
        if self.per_user > 0 && *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(Slot {
            cap: self.clone(),
            user_id,
        })
    }
}

/// One open connection's place under the cap; dropping it frees it.
#[derive(Debug)]
pub struct Slot {
    cap: ConnectionCap,
    user_id: i64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_the_cap_and_closing_frees_a_slot() {
        let cap = ConnectionCap::new(2);
        let a = cap.take(1).unwrap();
        let _b = cap.take(1).unwrap();
        assert!(cap.take(1).is_none());
        assert!(cap.take(2).is_some(), "another user has their own");
        drop(a);
        assert!(cap.take(1).is_some());
        let unlimited = ConnectionCap::new(0);
        let slots: Vec<_> = (0..1000).filter_map(|_| unlimited.take(1)).collect();
        assert_eq!(slots.len(), 1000);
    }
}
