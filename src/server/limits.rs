//! Rate limits, with `governor` (GCRA, keyed, lock-free): how often one
//! address may try to log in or register, one account may be tried, and one
//! user may change things or start sessions. A refusal is 429 with
//! `Retry-After`; the refused request does no work (no password hash is
//! computed, nothing is queued).
//!
//! The client's address is the connection's peer, or, when the peer is a
//! proxy on this machine (loopback), the `X-Forwarded-For` it set (see
//! `docs/nginx-spotter.conf`, which sets rather than appends it).

use super::metrics;
use crate::error::AppError;
use axum::http::{request::Parts, HeaderMap};
use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota,
};
use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

/// One limit: `burst` at once, then one more every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// Then one more per this interval.
    pub every: Duration,
}

impl Rate {
    const fn new(burst: u32, every_ms: u64) -> Rate {
        Rate {
            burst,
            every: Duration::from_millis(every_ms),
        }
    }

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.every.max(Duration::from_micros(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// Every limit's rate (`SPOTTER_RATE_LIMITS=off` turns them all off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    /// Login attempts per client address.
    pub login_per_address: Rate,
    /// Login attempts per email address (right or wrong).
    pub login_per_account: Rate,
    /// Registrations per client address.
    pub register_per_address: Rate,
    /// Changes (save, release, feedback, join, cancel, …) per user.
    pub changes_per_user: Rate,
    /// Session starts per athlete.
    pub starts_per_user: Rate,
}

impl Default for Rates {
    /// For people: 10 logins at once per address then one per 6 s; 5 per
    /// account then one per 12 s; 5 registrations per address then one
    /// per 2 min; 30 changes at once per user then 10/s; 5 starts then one
    /// per 12 s.
    fn default() -> Rates {
        Rates {
            login_per_address: Rate::new(10, 6_000),
            login_per_account: Rate::new(5, 12_000),
            register_per_address: Rate::new(5, 120_000),
            changes_per_user: Rate::new(30, 100),
            starts_per_user: Rate::new(5, 12_000),
        }
    }
}

/// The limiters; cheap to clone (shared).
#[derive(Clone)]
pub struct Limits(Option<Arc<Limiters>>);

struct Limiters {
    login_address: DefaultKeyedRateLimiter<IpAddr>,
    login_account: DefaultKeyedRateLimiter<String>,
    register_address: DefaultKeyedRateLimiter<IpAddr>,
    changes: DefaultKeyedRateLimiter<i64>,
    starts: DefaultKeyedRateLimiter<i64>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Limits(on)"
        } else {
            "Limits(off)"
        })
    }
}

/// What is being limited, for the check.
pub enum Attempt<'a> {
    /// A login from an address for an email.
    Login(IpAddr, &'a str),
    /// A registration from an address.
    Register(IpAddr),
    /// A change by a user.
    Change(i64),
    /// A session start by an athlete (also a change).
    Start(i64),
}

impl Limits {
    /// The limiters for `rates`, or none at all.
    pub fn new(rates: Option<Rates>) -> Limits {
        Limits(rates.map(|r| {
            Arc::new(Limiters {
                login_address: DefaultKeyedRateLimiter::keyed(r.login_per_address.quota()),
                login_account: DefaultKeyedRateLimiter::keyed(r.login_per_account.quota()),
                register_address: DefaultKeyedRateLimiter::keyed(r.register_per_address.quota()),
                changes: DefaultKeyedRateLimiter::keyed(r.changes_per_user.quota()),
                starts: DefaultKeyedRateLimiter::keyed(r.starts_per_user.quota()),
            })
        }))
    }

    /// `Ok` if the attempt is within its limits (and counts it), else
    /// `TooManyRequests` with the seconds to wait.
    pub fn check(&self, attempt: Attempt<'_>) -> Result<(), AppError> {
        let Some(limiters) = &self.0 else {
            return Ok(());
        };
        let kind = match attempt {
            Attempt::Login(..) => "login",
            Attempt::Register(_) => "register",
            Attempt::Change(_) => "change",
            Attempt::Start(_) => "start",
        };
        let results = match attempt {
            Attempt::Login(address, email) => vec![
                limiters.login_address.check_key(&address),
                limiters.login_account.check_key(&email.to_lowercase()),
            ],
            Attempt::Register(address) => vec![limiters.register_address.check_key(&address)],
            Attempt::Change(user) => vec![limiters.changes.check_key(&user)],
            Attempt::Start(user) => vec![
                limiters.changes.check_key(&user),
                limiters.starts.check_key(&user),
            ],
        };
        let now = DefaultClock::default().now();
        let wait = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|not_until| not_until.wait_time_from(now))
            .max();
        match wait {
            None => Ok(()),
            Some(wait) => {
                metrics::rate_limited(kind);
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(AppError::TooManyRequests(seconds.max(1)))
            }
        }
    }

    /// Forgets keys that are back to full (call now and then).
    pub fn shrink(&self) {
        if let Some(l) = &self.0 {
            l.login_address.retain_recent();
            l.login_account.retain_recent();
            l.register_address.retain_recent();
            l.changes.retain_recent();
            l.starts.retain_recent();
        }
    }
}

/// The client's address for limits: the peer, or the `X-Forwarded-For` a
/// proxy on this machine set.
pub fn client_address(parts: &Parts) -> IpAddr {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<super::connection::Peer>>()
        .map(|info| info.0.address.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if peer.is_loopback() {
        if let Some(forwarded) = forwarded_for(&parts.headers) {
            return forwarded;
        }
    }
    peer
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-forwarded-for")?
        .to_str()
        .ok()?
        .rsplit(',')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait_per_key() {
        let limits = Limits::new(Some(Rates {
            login_per_account: Rate::new(2, 60_000),
            ..Rates::default()
        }));
        let here = IpAddr::from([10, 0, 0, 1]);
        assert!(limits.check(Attempt::Login(here, "a@x")).is_ok());
        assert!(limits.check(Attempt::Login(here, "A@x")).is_ok());
        match limits.check(Attempt::Login(here, "a@x")) {
            Err(AppError::TooManyRequests(s)) => assert!((1..=60).contains(&s), "{s}"),
            other => panic!("expected 429, got {other:?}"),
        }
        // Another account is its own key.
        assert!(limits.check(Attempt::Login(here, "b@x")).is_ok());
        // Off means off.
        let off = Limits::new(None);
        for _ in 0..1000 {
            assert!(off.check(Attempt::Start(1)).is_ok());
        }
    }

    #[test]
    fn a_local_proxy_names_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert_eq!(
            forwarded_for(&headers),
            Some(IpAddr::from([203, 0, 113, 9]))
        );
        headers.insert("x-forwarded-for", "1.1.1.1, 203.0.113.9".parse().unwrap());
        assert_eq!(
            forwarded_for(&headers),
            Some(IpAddr::from([203, 0, 113, 9]))
        );
    }
}
