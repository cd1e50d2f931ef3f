//! The store as a directory on disk: keys are relative paths. A put writes a
//! temp file, fsyncs it, renames it into place and fsyncs the directory, so a
//! reader (or a crash) never sees half an object.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ObjectInfo, Store, StoreError, check_key};

pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn io(
        &self,
        action: &'static str,
        key: &str,
    ) -> impl FnOnce(std::io::Error) -> StoreError + use<> {
        let (key, root) = (key.to_string(), self.root.display().to_string());
        move |source| StoreError::Io {
            action,
            key,
            root,
            source,
        }
    }
}

/// Creates `dir` and the folders above it up to `root`, syncing each parent
/// whose entries changed: a new `raw/YYYY/MM/DD/HH/` must survive a power cut
/// as surely as the object written into it.
fn create_durable_dir(root: &Path, dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.is_dir() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) if at != root => at = parent,
            _ => break,
        }
    }
    fs::create_dir_all(dir)?;
    // Each created folder's entry lives in its parent: sync from the top down.
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent() {
            crate::journal::sync_dir(parent)?;
        }
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<ObjectInfo>) -> std::io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let meta = entry.metadata()?;
            let key = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            out.push(ObjectInfo {
                key,
                size: meta.len(),
                modified: meta.modified().ok(),
            });
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for DirStore {
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        // Walk from the deepest directory the prefix names, then filter.
        let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let mut out = Vec::new();
        walk(&self.root, &self.root.join(dir_part), &mut out)
            .map_err(self.io("listing", prefix))?;
        out.retain(|o| o.key.starts_with(prefix));
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.path(key)?;
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound {
                key: key.to_string(),
            },
            _ => self.io("reading", key)(e),
        })
    }

    async fn put(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        create_durable_dir(&self.root, &dir).map_err(self.io("creating the directory for", key))?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(body)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            // The rename is durable only once the directory entry is.
            crate::journal::sync_dir(&dir)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.io("writing", key)(e)
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("deleting", key)(e)),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn location(&self, prefix: &str) -> String {
        self.root
            .join(prefix.trim_end_matches('/'))
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        store.put("raw/2026/01/01/00/a.jsonl", b"1").await.unwrap();
        store.put("raw/2026/01/01/01/b.jsonl", b"22").await.unwrap();
        store.put("rejected/x.jsonl", b"333").await.unwrap();
        let listed: Vec<(String, u64)> = store
            .list("raw/")
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect();
        assert_eq!(
            listed,
            [
                ("raw/2026/01/01/00/a.jsonl".to_string(), 1),
                ("raw/2026/01/01/01/b.jsonl".to_string(), 2)
            ]
        );
        assert_eq!(store.list("raw/2026/01/01/01").await.unwrap().len(), 1);
        assert_eq!(store.get("rejected/x.jsonl").await.unwrap(), b"333");
        store.delete("rejected/x.jsonl").await.unwrap();
        store.delete("rejected/x.jsonl").await.unwrap();
        assert!(matches!(
            store.get("rejected/x.jsonl").await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.put("../escape", b"").await.is_err());
        assert!(store.list("nothing/").await.unwrap().is_empty());
    }
}
