//! Exactly-once mutations. A request that carries an idempotency key has
//! its answer stored under (user, key) in the same transaction as the
//! change it made, so:
//! - a repeat of a committed key gets the first answer back and changes
//!   nothing (no second row, no second event);
//! - the same key with a different request is refused (409);
//! - concurrent repeats commit once: on SQLite writers are serialised; on
//!   PostgreSQL the second insert of the key waits for the first
//!   transaction and then finds the key taken (see [`record`]).
//!
//! Only `training` calls this, from inside its unit of work.

use super::tx::{sql, Tx};
use crate::{
    error::AppError,
    model::{validate_idempotency_key, IDEMPOTENCY_KEY_FIELD},
};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

/// A mutation request's key and what it asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    key: String,
    /// SHA-256 (hex) of the endpoint and its arguments.
    fingerprint: String,
}

impl Idempotency {
    /// The key of a server function's `request` (its `idempotency_key`
    /// field), with a fingerprint of `endpoint` and every other field; see
    /// [`Idempotency::from_request`].
    pub fn of(endpoint: &str, request: &impl Serialize) -> Result<Option<Idempotency>, AppError> {
        let mut args = serde_json::to_value(request).map_err(|e| {
            tracing::error!(error = %e, "cannot encode request arguments");
            AppError::Internal
        })?;
        let key = args
            .as_object_mut()
            .and_then(|fields| fields.remove(IDEMPOTENCY_KEY_FIELD));
        let key = key.as_ref().and_then(serde_json::Value::as_str);
        Idempotency::from_request(key.unwrap_or_default(), endpoint, &args)
    }

    /// `None` when the request carries no key; a 422 naming the field when
    /// the key is malformed. `args` are the server function's arguments
    /// (everything but the key), which the fingerprint covers.
    fn from_request(
        key: &str,
        endpoint: &str,
        args: &impl Serialize,
    ) -> Result<Option<Idempotency>, AppError> {
        let Some(key) = validate_idempotency_key(key)? else {
            return Ok(None);
        };
        let body = serde_json::to_string(args).map_err(|e| {
            tracing::error!(error = %e, "cannot encode request arguments");
            AppError::Internal
        })?;
        let mut hash = Sha256::new();
        hash.update(endpoint.as_bytes());
        hash.update([0]);
        hash.update(body.as_bytes());
        Ok(Some(Idempotency {
            key: key.to_string(),
            fingerprint: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }))
    }
}

/// Who asked, under which key (if any): what a unit of work needs to store
/// or replay the answer.
#[derive(Clone, Copy, Debug)]
pub struct Once<'a> {
    /// The user the key belongs to (keys are per user).
    pub user_id: i64,
    /// The key, if the request had one.
    pub key: Option<&'a Idempotency>,
}

fn decode<T: DeserializeOwned>(key: &Idempotency, stored: (String, String)) -> Result<T, AppError> {
    let (fingerprint, response) = stored;
    if fingerprint != key.fingerprint {
        return Err(AppError::Conflict(
            "This idempotency key was already used for a different request; reload the page and try again".into(),
        ));
    }
    serde_json::from_str(&response).map_err(|e| {
        tracing::error!(error = %e, "unreadable stored answer");
        AppError::Internal
    })
}

const SELECT: &str =
    "SELECT request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2";

/// Inside the unit of work, before it changes anything: the answer of an
/// earlier commit of this key, if there was one (or 409 if that was a
/// different request).
///
/// Also how a request whose key a concurrent repeat committed first (see
/// [`record`]) finds that answer: on PostgreSQL each statement of the
/// transaction sees what was committed before it began.
pub async fn replay<T: DeserializeOwned>(
    tx: &mut Tx<'_>,
    once: Once<'_>,
) -> Result<Option<T>, AppError> {
    let Some(key) = once.key else {
        return Ok(None);
    };
    let stored: Option<(String, String)> = tx
        .fetch_optional(sql(SELECT).bind(once.user_id).bind(&key.key))
        .await?;
    stored.map(|row| decode(key, row)).transpose()
}

/// Stores the answer with the key, right before the commit. False if the
/// key was committed meanwhile by a concurrent request (the caller rolls
/// back and answers with [`replay`]).
pub async fn record<T: Serialize>(
    tx: &mut Tx<'_>,
    once: Once<'_>,
    value: &T,
) -> Result<bool, AppError> {
    let Some(key) = once.key else {
        return Ok(true);
    };
    let response = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "cannot encode an answer");
        AppError::Internal
    })?;
    let inserted = tx
        .execute(
            sql(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(once.user_id)
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(response)
            .bind(super::db::now_ms()),
        )
        .await?;
    Ok(inserted == 1)
}
