//! The store in an S3 bucket (optionally under a key prefix): paginated
//! listings (the original system stopped at 1,000 keys), deletes batched by
//! 1,000, single-request puts (objects here are far below S3's 5 GiB limit).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use super::{ObjectInfo, Store, StoreError, check_key};

pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
        }
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

    /// Deletes many objects, 1,000 per request (S3's limit).
    pub async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
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
                    key: failed.key().unwrap_or_default().to_string(),
                    store: self.describe(),
                    message: failed.message().unwrap_or("unknown error").to_string(),
                });
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for S3Store {
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.remote("listing", prefix, &e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                out.push(ObjectInfo {
                    key: key.to_string(),
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
            .key(key)
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
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
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
            .key(key)
            .send()
            .await
            .map_err(|e| self.remote("deleting", key, &e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}
