//! The store in an S3 bucket: paginated listings (the original system stopped
//! at 1,000 keys), deletes batched by 1,000, multipart puts for large objects,
//! and the areas (`raw/`, `compacted/`, `rejected/`) under configurable
//! prefixes (`aws.raw_prefix`, ...), so an existing Firehose layout works as is.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};

use super::{COMPACTED, ObjectInfo, RAW, REJECTED, Store, StoreError, check_key};

/// Objects above this size are uploaded in parts (a single PUT tops out at 5 GiB
/// and restarts from zero on a dropped connection).
pub const MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;

/// Where each area of the layout lives in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefixes {
    pub raw: String,
    pub compacted: String,
    pub rejected: String,
}

impl Default for Prefixes {
    fn default() -> Prefixes {
        Prefixes {
            raw: RAW.into(),
            compacted: COMPACTED.into(),
            rejected: REJECTED.into(),
        }
    }
}

impl Prefixes {
    /// Checks and normalizes configured prefixes (a trailing `/` is added).
    pub fn new(raw: &str, compacted: &str, rejected: &str) -> Result<Prefixes, String> {
        let normal = |name: &str, p: &str| -> Result<String, String> {
            let p = p.trim_start_matches('/');
            if p.is_empty() {
                return Err(format!("aws.{name}_prefix is empty"));
            }
            Ok(if p.ends_with('/') {
                p.to_string()
            } else {
                format!("{p}/")
            })
        };
        let prefixes = Prefixes {
            raw: normal("raw", raw)?,
            compacted: normal("compacted", compacted)?,
            rejected: normal("rejected", rejected)?,
        };
        let all = prefixes.pairs();
        for (i, (_, a)) in all.iter().enumerate() {
            for (_, b) in &all[i + 1..] {
                if a.starts_with(b.as_str()) || b.starts_with(a.as_str()) {
                    return Err(format!("prefixes {a:?} and {b:?} overlap"));
                }
            }
        }
        Ok(prefixes)
    }

    fn pairs(&self) -> [(&'static str, &String); 3] {
        [
            (RAW, &self.raw),
            (COMPACTED, &self.compacted),
            (REJECTED, &self.rejected),
        ]
    }
}

/// The object key an S3 event names: URL-encoded, with `+` for a space.
pub fn event_key(encoded: &str) -> Result<String, StoreError> {
    percent_encoding::percent_decode_str(&encoded.replace('+', " "))
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| StoreError::BadKey {
            key: encoded.to_string(),
            reason: "is not URL-encoded UTF-8",
        })
}

pub struct S3Store {
    client: Client,
    bucket: String,
    prefixes: Prefixes,
    part_size: usize,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
            prefixes: Prefixes::default(),
            part_size: MULTIPART_THRESHOLD / 2,
        }
    }

    pub fn with_prefixes(mut self, prefixes: Prefixes) -> S3Store {
        self.prefixes = prefixes;
        self
    }

    /// Parts of this size (at least S3's 5 MiB) for objects above twice it.
    pub fn with_part_size(mut self, bytes: usize) -> S3Store {
        self.part_size = bytes.max(5 * 1024 * 1024);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key in the bucket of a layout key (`raw/...` -> `<raw_prefix>...`).
    pub fn physical(&self, key: &str) -> String {
        for (area, prefix) in self.prefixes.pairs() {
            if let Some(rest) = key.strip_prefix(area) {
                return format!("{prefix}{rest}");
            }
        }
        key.to_string()
    }

    /// The layout key of a key in the bucket (the inverse of [`S3Store::physical`]).
    pub fn logical(&self, key: &str) -> String {
        for (area, prefix) in self.prefixes.pairs() {
            if let Some(rest) = key.strip_prefix(prefix.as_str()) {
                return format!("{area}{rest}");
            }
        }
        key.to_string()
    }

    /// The layout key of a bucket key that lies under one of the configured
    /// prefixes; None for anything else in the bucket (an S3 event for a key
    /// outside `aws.raw_prefix` must not be counted as raw).
    pub fn layout_key(&self, key: &str) -> Option<String> {
        self.prefixes
            .pairs()
            .into_iter()
            .find_map(|(area, prefix)| {
                key.strip_prefix(prefix.as_str())
                    .map(|rest| format!("{area}{rest}"))
            })
    }

    /// `s3://bucket/<physical key>`, as Athena's `$path` and table locations name it.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.physical(key))
    }

    fn remote(
        &self,
        action: &'static str,
        key: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> StoreError {
        StoreError::Remote {
            action,
            key: key.to_string(),
            store: self.describe(),
            message: crate::aws::describe(error),
        }
    }

    async fn put_multipart(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        let physical = self.physical(key);
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&physical)
            .send()
            .await
            .map_err(|e| self.remote("writing", key, &e))?;
        let Some(upload_id) = upload.upload_id() else {
            return Err(StoreError::Remote {
                action: "writing",
                key: key.to_string(),
                store: self.describe(),
                message: "CreateMultipartUpload returned no upload id".into(),
            });
        };
        let mut parts = Vec::new();
        let mut result = Ok(());
        for (i, chunk) in body.chunks(self.part_size).enumerate() {
            let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
            match self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(&physical)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
            {
                Ok(part) => parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                ),
                Err(e) => {
                    result = Err(self.remote("writing", key, &e));
                    break;
                }
            }
        }
        if result.is_ok() {
            result = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&physical)
                .upload_id(upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.remote("writing", key, &e));
        }
        if result.is_err() {
            // Uploaded parts are billed until aborted; the original error is what matters.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&physical)
                .upload_id(upload_id)
                .send()
                .await;
        }
        result
    }
}

#[async_trait::async_trait]
impl Store for S3Store {
    /// Deletes 1,000 objects per request (S3's limit).
    async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|key| ObjectIdentifier::builder().key(self.physical(key)).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.remote("deleting", &chunk[0], &e))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| self.remote("deleting", &chunk[0], &e))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.remote("deleting", &chunk[0], &e))?;
            if let Some(failed) = output.errors().first() {
                return Err(StoreError::Remote {
                    action: "deleting",
                    key: self.logical(failed.key().unwrap_or_default()),
                    store: self.describe(),
                    message: failed.message().unwrap_or("unknown error").to_string(),
                });
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        self.list_after(prefix, "").await
    }

    /// S3 starts the listing there (StartAfter) instead of filtering afterwards.
    async fn list_after(
        &self,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.physical(prefix));
        if !start_after.is_empty() {
            request = request.start_after(self.physical(start_after));
        }
        let mut pages = request.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.remote("listing", prefix, &e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                out.push(ObjectInfo {
                    key: self.logical(key),
                    size: object.size().unwrap_or(0).max(0) as u64,
                    modified: None,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        check_key(key)?;
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.physical(key))
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(StoreError::NotFound {
                    key: key.to_string(),
                });
            }
            Err(e) => return Err(self.remote("reading", key, &e)),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| self.remote("reading", key, &e))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn put(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        if body.len() > 2 * self.part_size {
            return self.put_multipart(key, body).await;
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.physical(key))
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .map_err(|e| self.remote("writing", key, &e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.physical(key))
            .send()
            .await
            .map_err(|e| self.remote("deleting", key, &e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }

    fn location(&self, prefix: &str) -> String {
        self.uri(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_under_a_configured_prefix_have_a_layout_key() {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .build();
        let store = S3Store::new(Client::from_conf(config), "b")
            .with_prefixes(Prefixes::new("landing/", "parquet/", "bad/").unwrap());
        assert_eq!(
            store.layout_key("landing/2026/x.gz").as_deref(),
            Some("raw/2026/x.gz")
        );
        assert_eq!(
            store.layout_key("parquet/dt=1/x").as_deref(),
            Some("compacted/dt=1/x")
        );
        assert_eq!(
            store.layout_key("raw/2026/x.gz"),
            None,
            "raw/ is not raw here"
        );
        assert_eq!(store.layout_key("elsewhere/x"), None);
    }

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            event_key("raw/2026/01/01/00/it%27s+a+key%2B1.jsonl.gz").unwrap(),
            "raw/2026/01/01/00/it's a key+1.jsonl.gz"
        );
        assert_eq!(event_key("caf%C3%A9").unwrap(), "café");
        assert!(event_key("%FF").is_err());
    }

    #[test]
    fn prefixes_are_normalized_and_must_not_overlap() {
        let p = Prefixes::new("sensors/raw", "/sensors/parquet/", "sensors/bad").unwrap();
        assert_eq!(
            (p.raw.as_str(), p.compacted.as_str(), p.rejected.as_str()),
            ("sensors/raw/", "sensors/parquet/", "sensors/bad/")
        );
        assert!(Prefixes::new("data/", "data/compacted/", "rejected/").is_err());
        assert!(Prefixes::new("", "compacted/", "rejected/").is_err());
    }
}
