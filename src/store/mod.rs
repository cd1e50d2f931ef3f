//! The object store: where raw, compacted and rejected objects live. The same
//! key layout in a local directory ([`dir`]) and in an S3 bucket ([`s3`]):
//!
//! ```text
//! raw/YYYY/MM/DD/HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>.jsonl.gz   (Firehose naming)
//! compacted/dt=YYYY-MM-DD/batch-<batch_id>.parquet
//! rejected/YYYY/MM/DD/HH/<uuid>.jsonl
//! ```

pub mod content;
pub mod dir;
pub mod s3;

use std::time::SystemTime;

use crate::error::Diagnose;
use time::OffsetDateTime;

pub const RAW: &str = "raw/";
pub const REJECTED: &str = "rejected/";
pub const COMPACTED: &str = "compacted/";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {key} does not exist")]
    NotFound { key: String },
    #[error("invalid object key {key:?}: {reason}")]
    BadKey { key: String, reason: &'static str },
    #[error("{action} {key} in {store}: {message}")]
    Remote {
        action: &'static str,
        key: String,
        store: String,
        message: String,
    },
    #[error("{action} {key} in {root}: {source}")]
    Io {
        action: &'static str,
        key: String,
        root: String,
        source: std::io::Error,
    },
}

impl Diagnose for StoreError {
    fn hint(&self) -> Option<String> {
        match self {
            StoreError::Io { .. } => Some(
                "check free space and permissions of the data dir (--data-dir, config data_dir)"
                    .into(),
            ),
            StoreError::Remote { message, .. } => Some(remote_hint(message).into()),
            _ => None,
        }
    }
}

/// What to do about an error S3 (or an S3-compatible store) returned.
fn remote_hint(message: &str) -> &'static str {
    let says = |signs: &[&str]| signs.iter().any(|sign| message.contains(sign));
    if says(&[
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "credentials",
    ]) {
        "the credentials are missing, refused or expired: check --profile (or AWS_PROFILE), \
         `aws sts get-caller-identity`, and `aws sso login` for an SSO profile"
    } else if says(&["AccessDenied", "Forbidden"]) {
        "this identity may not do that: it needs s3:PutObject, s3:GetObject, s3:ListBucket and \
         s3:DeleteObject on the bucket and its prefixes"
    } else if says(&["NoSuchBucket"]) {
        "the bucket does not exist in this account and region: fix aws.bucket or --region, or \
         create it"
    } else if says(&[
        "SlowDown",
        "Throttl",
        "ServiceUnavailable",
        "status code: 503",
    ]) {
        "the store is throttling requests (S3 allows 3,500 writes a second per prefix); the \
         request was retried with backoff: write larger objects (sink.buffer_bytes, \
         sink.buffer_interval) or try again later"
    } else if says(&["dispatch failure", "timed out"]) {
        "the store could not be reached: check the network, --region, and aws.endpoint_url \
         (with aws.path_style = true for MinIO, Ceph or Garage)"
    } else {
        "check the bucket (aws.bucket), credentials (--profile) and region (--region); \
         --endpoint-url for a local emulator"
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    #[serde(skip)]
    pub modified: Option<SystemTime>,
}

/// A flat key/value object store with atomic puts.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Every object under `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError>;
    /// The objects under `prefix` whose keys sort after `start_after`.
    async fn list_after(
        &self,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut objects = self.list(prefix).await?;
        objects.retain(|o| o.key.as_str() > start_after);
        Ok(objects)
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    /// Writes the whole object or nothing; it is durable when this returns.
    async fn put(&self, key: &str, body: &[u8]) -> Result<(), StoreError>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes several objects (S3 batches them; others go one by one).
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }
    /// Where the store is, for messages.
    fn describe(&self) -> String;
    /// Where `prefix` is (a directory, an s3:// URI), for messages.
    fn location(&self, prefix: &str) -> String;
}

/// The keys under `prefix`, for membership tests.
pub async fn keys(
    store: &dyn Store,
    prefix: &str,
) -> Result<std::collections::HashSet<String>, StoreError> {
    // Keys the store refuses (a console "folder") cannot be read or deleted
    // through it: they are never counted, so never anyone's leftovers.
    Ok(store
        .list(prefix)
        .await?
        .into_iter()
        .filter(|o| check_key(&o.key).is_ok())
        .map(|o| o.key)
        .collect())
}

/// The Firehose-style key of a raw object written at `at` by delivery stream `stream`.
pub fn raw_key(stream: &str, at: OffsetDateTime, gzip: bool) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let (y, mo, d) = (at.year(), at.month() as u8, at.day());
    let (h, mi, s) = (at.hour(), at.minute(), at.second());
    let ext = if gzip { "jsonl.gz" } else { "jsonl" };
    format!(
        "{RAW}{y:04}/{mo:02}/{d:02}/{h:02}/{stream}-1-{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}-{}.{ext}",
        uuid::Uuid::new_v4()
    )
}

/// The key of a rejected-payload object written at `at`.
pub fn rejected_key(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{REJECTED}{:04}/{:02}/{:02}/{:02}/{}.jsonl",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        uuid::Uuid::new_v4()
    )
}

/// Where to resume listing: the hour before the newest key's hour
/// (`raw/2026/03/01/09` for `raw/2026/03/01/10/...`), since objects can land a
/// little out of key order; the whole prefix for keys not named by time.
pub fn relist_from(prefix: &str, newest: &str) -> String {
    let Some(rest) = newest.strip_prefix(prefix) else {
        return prefix.to_string();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let hour = (parts.len() > 4)
        .then(|| {
            let number = |s: &str| s.parse::<u8>().ok();
            let date = time::Date::from_calendar_date(
                parts[0].parse().ok()?,
                time::Month::try_from(number(parts[1])?).ok()?,
                number(parts[2])?,
            )
            .ok()?;
            date.with_hms(number(parts[3])?, 0, 0).ok()
        })
        .flatten();
    match hour.and_then(|h| h.checked_sub(time::Duration::HOUR)) {
        Some(h) => format!(
            "{prefix}{:04}/{:02}/{:02}/{:02}",
            h.year(),
            h.month() as u8,
            h.day(),
            h.hour()
        ),
        None => prefix.to_string(),
    }
}

/// New objects under a prefix as they land. Keys are named by time
/// (`raw/YYYY/MM/DD/HH/...`), so each poll lists from an hour before the
/// newest key seen instead of the whole history.
pub struct Watch<'s> {
    store: &'s dyn Store,
    prefix: String,
    seen: std::collections::HashSet<String>,
    newest: Option<String>,
}

impl<'s> Watch<'s> {
    /// Every object counts as new, those already there included.
    pub fn from_start(store: &'s dyn Store, prefix: &str) -> Watch<'s> {
        Watch {
            store,
            prefix: prefix.to_string(),
            seen: Default::default(),
            newest: None,
        }
    }

    /// Resuming a pass that last saw `newest` (None: from the start): it
    /// lists from an hour before that key.
    pub fn resuming(store: &'s dyn Store, prefix: &str, newest: Option<String>) -> Watch<'s> {
        Watch {
            newest,
            ..Watch::from_start(store, prefix)
        }
    }

    /// The newest key seen so far.
    pub fn newest(&self) -> Option<&str> {
        self.newest.as_deref()
    }

    /// Only objects that land from now on count as new.
    pub async fn from_now(store: &'s dyn Store, prefix: &str) -> Result<Watch<'s>, StoreError> {
        let mut watch = Watch::from_start(store, prefix);
        for object in store.list(prefix).await? {
            watch.newest = Some(object.key.clone());
            watch.seen.insert(object.key);
        }
        Ok(watch)
    }

    /// The objects that appeared since the last call, in key order.
    pub async fn new_objects(&mut self) -> Result<Vec<ObjectInfo>, StoreError> {
        let listed = match &self.newest {
            Some(key) => {
                let from = relist_from(&self.prefix, key);
                self.store.list_after(&self.prefix, &from).await?
            }
            None => self.store.list(&self.prefix).await?,
        };
        let mut new = Vec::new();
        for object in listed {
            if self.newest.as_ref().is_none_or(|n| object.key > *n) {
                self.newest = Some(object.key.clone());
            }
            if self.seen.insert(object.key.clone()) {
                new.push(object);
            }
        }
        Ok(new)
    }
}

/// Rejects keys that could escape the store or collide with temp files.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let reason = if key.is_empty() {
        "empty"
    } else if key.starts_with('/') {
        "absolute"
    } else if key
        .split('/')
        .any(|part| part == ".." || part == "." || part.is_empty())
    {
        "has an empty, . or .. segment"
    } else if key.split('/').any(|part| part.starts_with(".tmp-")) {
        "uses the temp-file prefix .tmp-"
    } else {
        return Ok(());
    };
    Err(StoreError::BadKey {
        key: key.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_firehose_layout() {
        let at = time::macros::datetime!(2026-11-26 14:07:09 UTC);
        let key = raw_key("iotpipe-sink", at, true);
        assert!(
            key.starts_with("raw/2026/11/26/14/iotpipe-sink-1-2026-11-26-14-07-09-"),
            "{key}"
        );
        assert!(key.ends_with(".jsonl.gz"), "{key}");
        assert!(rejected_key(at).starts_with("rejected/2026/11/26/14/"));
        for bad in ["", "/etc/passwd", "raw/../x", "raw//x", "raw/.tmp-x"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        check_key(&key).unwrap();
    }

    #[test]
    fn listing_resumes_an_hour_before_the_newest_key() {
        assert_eq!(
            relist_from("raw/", "raw/2026/03/01/00/stream-1-x.jsonl.gz"),
            "raw/2026/02/28/23"
        );
        assert_eq!(
            relist_from("raw/", "raw/2026/03/01/10/o"),
            "raw/2026/03/01/09"
        );
        assert_eq!(relist_from("raw/", "raw/odd-key"), "raw/");
        assert_eq!(relist_from("rejected/", "raw/2026/03/01/10/o"), "rejected/");
    }
}
