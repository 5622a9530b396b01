//! The content-addressed object store.
//!
//! Every stored byte sequence is an immutable object named by its BLAKE3 hash (64 hex digits),
//! laid out as `<root>/<first 2 hex>/<remaining 62 hex>` so no folder holds more than 1/256 of
//! the objects. Writing an object that exists is a no-op, which is what deduplicates.
//!
//! Invariant: an object's name is the hash of exactly the bytes stored under it. Locally, a file
//! is copied into `.sluice/tmp/` while being hashed, and only then renamed to its name (rename
//! is atomic on one filesystem), so a reader never sees a partial object and a killed writer
//! leaves only a temp file. Remotely (`s3://`), the upload is hashed as it streams and aborted
//! if the hash differs from the one the caller expected.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Files at least this large are hashed with memory mapping on all cores.
const MMAP_THRESHOLD: u64 = 1 << 20;
/// Copy buffer size.
const CHUNK: usize = 1 << 20;
/// Sources at least this large are read around the page cache; smaller ones are cheaper to read
/// through it than to wait on one uncached read each.
#[cfg(target_os = "linux")]
const DIRECT_READ_MIN: u64 = 64 << 10;

/// The BLAKE3 hash of an object's content, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectId(String);

impl ObjectId {
    /// The id of a finished hasher.
    pub fn from_hash(hash: blake3::Hash) -> Self {
        ObjectId(hash.to_hex().to_string())
    }

    /// The id of some bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        ObjectId::from_hash(blake3::hash(bytes))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short prefix for display, as git shows commits.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }

    fn relative_path(&self) -> String {
        format!("{}/{}", &self.0[..2], &self.0[2..])
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ObjectId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(ObjectId(s.to_string()))
        } else {
            Err(Error::Internal(format!("`{s}` is not a BLAKE3 object id")))
        }
    }
}

/// Hashes a file's content: memory-mapped on all cores for large files, buffered otherwise.
pub fn hash_file(path: &Path) -> Result<ObjectId> {
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let mut hasher = blake3::Hasher::new();
    if len >= MMAP_THRESHOLD {
        hasher.update_mmap_rayon(path).map_err(|e| Error::io(path, e))?;
    } else {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        hasher.update_reader(&mut f).map_err(|e| Error::io(path, e))?;
    }
    Ok(ObjectId::from_hash(hasher.finalize()))
}

/// Copies `src` to `dst` and returns the hash of exactly the bytes written: bypassing the page
/// cache where the filesystem allows (see `direct.rs`), buffered otherwise.
fn copy_hashing(src: &Path, dst: &Path) -> Result<(ObjectId, u64)> {
    #[cfg(target_os = "linux")]
    {
        let len = std::fs::metadata(src).map_err(|e| Error::io(src, e))?.len();
        let read_direct = len >= DIRECT_READ_MIN;
        match crate::direct::copy_hashing_direct(src, dst, read_direct) {
            Ok(crate::direct::Direct::Copied(hash, n)) => return Ok((ObjectId::from_hash(hash), n)),
            Ok(crate::direct::Direct::Unsupported) => {}
            Err(e) => return Err(Error::io(src, e)),
        }
    }
    copy_hashing_buffered(src, dst)
}

fn copy_hashing_buffered(src: &Path, dst: &Path) -> Result<(ObjectId, u64)> {
    let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
    let mut output = File::create(dst).map_err(|e| Error::io(dst, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(|e| Error::io(src, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(|e| Error::io(dst, e))?;
        total += n as u64;
    }
    Ok((ObjectId::from_hash(hasher.finalize()), total))
}

/// One stored object, as listed by [`Objects::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its name.
    pub id: ObjectId,
    /// Its size in bytes.
    pub size: u64,
}

/// The object store of a workspace: a local folder or an object-store URL.
#[derive(Debug, Clone)]
pub struct Objects {
    backend: Backend,
    tmp: PathBuf,
}

#[derive(Debug, Clone)]
enum Backend {
    Local {
        root: PathBuf,
    },
    Remote {
        store: Arc<dyn object_store::ObjectStore>,
        prefix: object_store::path::Path,
        url: String,
    },
}

impl Objects {
    /// Opens the store at `url` (a folder, relative to `base`, or `s3://bucket/prefix`); temp
    /// files go to `tmp`, which must be on the same filesystem as a local store.
    pub fn open(base: &Path, url: &str, tmp: PathBuf) -> Result<Objects> {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        if let Some(rest) = url.strip_prefix("s3://") {
            return Self::open_s3(url, rest, tmp);
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(Error::UnsupportedUrl {
                what: "object store",
                url: url.into(),
                hint: "use a folder path or s3://bucket/prefix".into(),
            });
        }
        let path = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
        let root = if path.is_absolute() { path } else { base.join(path) };
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        Ok(Objects {
            backend: Backend::Local { root },
            tmp,
        })
    }

    #[cfg(feature = "s3")]
    fn open_s3(url: &str, rest: &str, tmp: PathBuf) -> Result<Objects> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        Ok(Objects {
            backend: Backend::Remote {
                store: Arc::new(store),
                prefix: object_store::path::Path::from(prefix),
                url: url.to_string(),
            },
            tmp,
        })
    }

    #[cfg(not(feature = "s3"))]
    fn open_s3(url: &str, _rest: &str, _tmp: PathBuf) -> Result<Objects> {
        Err(Error::UnsupportedUrl {
            what: "object store",
            url: url.into(),
            hint: "this sluice was built without S3 support; rebuild with `--features s3`".into(),
        })
    }

    /// An object store over any `object_store` implementation (used by tests with an in-memory
    /// store, and by embedders with their own).
    pub fn with_store(
        store: Arc<dyn object_store::ObjectStore>,
        url: &str,
        prefix: &str,
        tmp: PathBuf,
    ) -> Result<Objects> {
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Objects {
            backend: Backend::Remote {
                store,
                prefix: object_store::path::Path::from(prefix),
                url: url.to_string(),
            },
            tmp,
        })
    }

    /// The folder for temp files of this store.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    /// A fresh temp file path in the store's temp folder.
    pub fn tmp_path(&self, suffix: &str) -> PathBuf {
        self.tmp.join(format!("{}{suffix}", uuid::Uuid::new_v4().simple()))
    }

    /// A temp path in one of 16 subfolders of the temp folder: files copied in parallel are
    /// created in different directories, so they do not queue on one directory's lock.
    fn spread_tmp_path(&self, suffix: &str) -> PathBuf {
        let name = uuid::Uuid::new_v4().simple().to_string();
        self.tmp.join(&name[..1]).join(format!("{name}{suffix}"))
    }

    /// Whether objects are files on this machine (a rename can put a file in the store).
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }

    /// Where an object lives on the local filesystem, for a local store.
    pub fn local_path(&self, id: &ObjectId) -> Option<PathBuf> {
        match &self.backend {
            Backend::Local { root } => Some(root.join(id.relative_path())),
            Backend::Remote { .. } => None,
        }
    }

    /// The store's location, for display and for registering it with a query engine.
    pub fn url(&self) -> String {
        match &self.backend {
            Backend::Local { root } => format!("file://{}", root.display()),
            Backend::Remote { url, .. } => url.clone(),
        }
    }

    /// The underlying `object_store` and the path of an object in it, for a remote store.
    pub fn remote(&self, id: &ObjectId) -> Option<(Arc<dyn object_store::ObjectStore>, object_store::path::Path)> {
        match &self.backend {
            Backend::Local { .. } => None,
            Backend::Remote { store, prefix, .. } => Some((store.clone(), remote_path(prefix, id))),
        }
    }

    /// Whether the object exists.
    pub async fn exists(&self, id: &ObjectId) -> Result<bool> {
        match &self.backend {
            Backend::Local { root } => Ok(root.join(id.relative_path()).is_file()),
            Backend::Remote { store, prefix, .. } => match store.head(&remote_path(prefix, id)).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Stores a user's file. Returns its id, its size and whether it was newly written (false:
    /// deduplicated). `expected` is the hash the caller already knows (from the stat cache or a
    /// previous hash), checked against the bytes actually stored.
    pub async fn put_file(&self, src: &Path, expected: Option<&ObjectId>) -> Result<(ObjectId, u64, bool)> {
        match &self.backend {
            Backend::Local { root } => {
                let root = root.clone();
                let tmp = self.spread_tmp_path(".part");
                let src = src.to_path_buf();
                let expected = expected.cloned();
                blocking(move || {
                    if let Some(id) = &expected {
                        let dst = root.join(id.relative_path());
                        if dst.is_file() {
                            let size = std::fs::metadata(&src).map_err(|e| Error::io(&src, e))?.len();
                            return Ok((id.clone(), size, false));
                        }
                    }
                    let tmp_dir = tmp.parent().expect("temp path has a parent");
                    std::fs::create_dir_all(tmp_dir).map_err(|e| Error::io(tmp_dir, e))?;
                    let result = copy_hashing(&src, &tmp);
                    let (id, size) = match result {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = std::fs::remove_file(&tmp);
                            return Err(e);
                        }
                    };
                    if let Some(exp) = &expected
                        && exp != &id
                    {
                        let _ = std::fs::remove_file(&tmp);
                        return Err(file_changed(&src));
                    }
                    let written = place_local(&root, &tmp, &id)?;
                    Ok((id, size, written))
                })
                .await
            }
            Backend::Remote { store, prefix, .. } => {
                let id = match expected {
                    Some(id) => id.clone(),
                    None => {
                        let src = src.to_path_buf();
                        blocking(move || hash_file(&src)).await?
                    }
                };
                let size = tokio::fs::metadata(src).await.map_err(|e| Error::io(src, e))?.len();
                if self.exists(&id).await? {
                    return Ok((id, size, false));
                }
                upload_verified(store.as_ref(), &remote_path(prefix, &id), src, &id).await?;
                Ok((id, size, true))
            }
        }
    }

    /// Stores a temp file this process wrote (a canonical Parquet copy, a quarantine) and
    /// removes the temp file. Returns its id and whether it was newly written.
    pub async fn put_tmp(&self, tmp: &Path) -> Result<(ObjectId, bool)> {
        let path = tmp.to_path_buf();
        let id = blocking(move || hash_file(&path)).await?;
        match &self.backend {
            Backend::Local { root } => {
                let root = root.clone();
                let (tmp, id2) = (tmp.to_path_buf(), id.clone());
                let written = blocking(move || place_local(&root, &tmp, &id2)).await?;
                Ok((id, written))
            }
            Backend::Remote { store, prefix, .. } => {
                let written = if self.exists(&id).await? {
                    false
                } else {
                    upload_verified(store.as_ref(), &remote_path(prefix, &id), tmp, &id).await?;
                    true
                };
                let _ = tokio::fs::remove_file(tmp).await;
                Ok((id, written))
            }
        }
    }

    /// Stores bytes held in memory.
    pub async fn put_bytes(&self, bytes: Bytes) -> Result<ObjectId> {
        let id = ObjectId::of_bytes(&bytes);
        match &self.backend {
            Backend::Local { .. } => {
                let tmp = self.tmp_path(".part");
                tokio::fs::write(&tmp, &bytes).await.map_err(|e| Error::io(&tmp, e))?;
                self.put_tmp(&tmp).await?;
            }
            Backend::Remote { store, prefix, .. } => {
                if !self.exists(&id).await? {
                    store.put(&remote_path(prefix, &id), bytes.into()).await?;
                }
            }
        }
        Ok(id)
    }

    /// Reads a whole object into memory.
    pub async fn get_bytes(&self, id: &ObjectId) -> Result<Bytes> {
        match &self.backend {
            Backend::Local { root } => {
                let p = root.join(id.relative_path());
                Ok(tokio::fs::read(&p).await.map_err(|e| Error::io(&p, e))?.into())
            }
            Backend::Remote { store, prefix, .. } => Ok(store.get(&remote_path(prefix, id)).await?.bytes().await?),
        }
    }

    /// Copies an object's bytes to a file (export, checkout).
    pub async fn copy_to(&self, id: &ObjectId, dst: &Path) -> Result<()> {
        if let Some(parent) = dst.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| Error::io(parent, e))?;
        }
        match &self.backend {
            Backend::Local { root } => {
                let src = root.join(id.relative_path());
                let dst = dst.to_path_buf();
                blocking(move || {
                    std::fs::copy(&src, &dst).map_err(|e| Error::io(&src, e))?;
                    Ok(())
                })
                .await
            }
            Backend::Remote { store, prefix, .. } => {
                let mut stream = store.get(&remote_path(prefix, id)).await?.into_stream();
                let mut f = tokio::fs::File::create(dst).await.map_err(|e| Error::io(dst, e))?;
                while let Some(chunk) = stream.try_next().await? {
                    tokio::io::AsyncWriteExt::write_all(&mut f, &chunk)
                        .await
                        .map_err(|e| Error::io(dst, e))?;
                }
                // tokio's File finishes writes in the background: without this flush the last
                // chunk may still be in flight when the caller reads the file (seen as a flaky
                // short copy in `remote_store_round_trip`).
                tokio::io::AsyncWriteExt::flush(&mut f)
                    .await
                    .map_err(|e| Error::io(dst, e))?;
                Ok(())
            }
        }
    }

    /// Re-hashes an object and returns the hash of its actual content (None if it is missing).
    pub async fn rehash(&self, id: &ObjectId) -> Result<Option<ObjectId>> {
        match &self.backend {
            Backend::Local { root } => {
                let p = root.join(id.relative_path());
                blocking(move || match hash_file(&p) {
                    Ok(h) => Ok(Some(h)),
                    Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                })
                .await
            }
            Backend::Remote { store, prefix, .. } => {
                let got = match store.get(&remote_path(prefix, id)).await {
                    Ok(g) => g,
                    Err(object_store::Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let mut stream = got.into_stream();
                let mut hasher = blake3::Hasher::new();
                while let Some(chunk) = stream.try_next().await? {
                    hasher.update(&chunk);
                }
                Ok(Some(ObjectId::from_hash(hasher.finalize())))
            }
        }
    }

    /// Lists every object in the store. Files that are not named like objects (a stray file a
    /// user put there) are skipped, never deleted.
    pub async fn list(&self) -> Result<Vec<ObjectInfo>> {
        match &self.backend {
            Backend::Local { root } => {
                let root = root.clone();
                blocking(move || list_local(&root)).await
            }
            Backend::Remote { store, prefix, .. } => {
                let mut out = Vec::new();
                let mut stream = store.list(Some(prefix));
                while let Some(meta) = stream.try_next().await? {
                    let parts: Vec<_> = meta.location.parts().collect();
                    let n = parts.len();
                    if n >= 2 {
                        let name = format!("{}{}", parts[n - 2].as_ref(), parts[n - 1].as_ref());
                        if let Ok(id) = name.parse::<ObjectId>() {
                            out.push(ObjectInfo { id, size: meta.size });
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// Deletes an object (gc only).
    pub async fn delete(&self, id: &ObjectId) -> Result<()> {
        match &self.backend {
            Backend::Local { root } => {
                let p = root.join(id.relative_path());
                match tokio::fs::remove_file(&p).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Error::io(&p, e)),
                }
            }
            Backend::Remote { store, prefix, .. } => {
                store.delete(&remote_path(prefix, id)).await?;
                Ok(())
            }
        }
    }

    /// Removes temp files left by killed writers. Call only under the exclusive workspace lock.
    pub fn clean_tmp(&self) -> Result<u64> {
        fn clean(dir: &Path, depth: u8) -> Result<u64> {
            let mut removed = 0;
            let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(dir, e))?;
                let path = entry.path();
                if path.is_dir() {
                    if depth == 0 {
                        removed += clean(&path, 1)?;
                    }
                } else if std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            Ok(removed)
        }
        clean(&self.tmp, 0)
    }
}

fn remote_path(prefix: &object_store::path::Path, id: &ObjectId) -> object_store::path::Path {
    prefix.clone().join(&id.0[..2]).join(&id.0[2..])
}

fn file_changed(path: &Path) -> Error {
    Error::io(
        path,
        std::io::Error::other("the file changed while sluice was reading it; run the command again once it is stable"),
    )
}

/// Moves a finished temp file to its object path; false if the object already existed.
fn place_local(root: &Path, tmp: &Path, id: &ObjectId) -> Result<bool> {
    let dst = root.join(id.relative_path());
    if dst.is_file() {
        let _ = std::fs::remove_file(tmp);
        return Ok(false);
    }
    let parent = dst.parent().expect("object path has a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    std::fs::rename(tmp, &dst).map_err(|e| Error::io(&dst, e))?;
    Ok(true)
}

fn list_local(root: &Path) -> Result<Vec<ObjectInfo>> {
    let mut out = Vec::new();
    let dirs = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    for dir in dirs {
        let dir = dir.map_err(|e| Error::io(root, e))?;
        let prefix = dir.file_name().to_string_lossy().into_owned();
        if prefix.len() != 2 || !dir.path().is_dir() {
            continue;
        }
        let files = std::fs::read_dir(dir.path()).map_err(|e| Error::io(dir.path(), e))?;
        for f in files {
            let f = f.map_err(|e| Error::io(dir.path(), e))?;
            let name = format!("{prefix}{}", f.file_name().to_string_lossy());
            if let Ok(id) = name.parse::<ObjectId>() {
                let size = f.metadata().map_err(|e| Error::io(f.path(), e))?.len();
                out.push(ObjectInfo { id, size });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Uploads a file, hashing as it streams; aborts the upload if the hash differs.
async fn upload_verified(
    store: &dyn object_store::ObjectStore,
    location: &object_store::path::Path,
    src: &Path,
    expected: &ObjectId,
) -> Result<()> {
    use tokio::io::AsyncReadExt;
    // S3 parts must be at least 5 MiB except the last.
    const PART: usize = 8 << 20;
    let mut f = tokio::fs::File::open(src).await.map_err(|e| Error::io(src, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut upload: Option<Box<dyn object_store::MultipartUpload>> = None;
    loop {
        let mut buf = vec![0u8; PART];
        let mut filled = 0;
        while filled < PART {
            let n = f.read(&mut buf[filled..]).await.map_err(|e| Error::io(src, e))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        hasher.update(&buf);
        let last = filled < PART;
        if upload.is_none() && last {
            // Small file: one plain PUT, after the hash is known to match.
            if &ObjectId::from_hash(hasher.finalize()) != expected {
                return Err(file_changed(src));
            }
            store.put(location, Bytes::from(buf).into()).await?;
            return Ok(());
        }
        let up = match &mut upload {
            Some(up) => up,
            None => upload.insert(store.put_multipart(location).await?),
        };
        if filled > 0 {
            up.put_part(Bytes::from(buf).into()).await?;
        }
        if last {
            break;
        }
    }
    let mut up = upload.expect("multipart upload started");
    if &ObjectId::from_hash(hasher.finalize()) != expected {
        up.abort().await?;
        return Err(file_changed(src));
    }
    up.complete().await?;
    Ok(())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(dir: &Path) -> Objects {
        Objects::open(dir, "objects", dir.join("tmp")).unwrap()
    }

    #[tokio::test]
    async fn put_is_content_addressed_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let a = dir.path().join("a.bin");
        let b = dir.path().join("b.bin");
        std::fs::write(&a, b"hello").unwrap();
        std::fs::write(&b, b"hello").unwrap();
        let (id1, size, new1) = store.put_file(&a, None).await.unwrap();
        let (id2, _, new2) = store.put_file(&b, None).await.unwrap();
        assert_eq!(id1, id2);
        assert_eq!(size, 5);
        assert!(new1 && !new2);
        assert_eq!(id1.as_str(), blake3::hash(b"hello").to_hex().as_str());
        assert_eq!(store.list().await.unwrap().len(), 1);
        assert_eq!(store.rehash(&id1).await.unwrap(), Some(id1.clone()));
        let leftover = walk_files(store.tmp_dir());
        assert!(leftover.is_empty(), "temp files left: {leftover:?}");
    }

    fn walk_files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk_files(&p))
            } else {
                out.push(p)
            }
        }
        out
    }

    #[tokio::test]
    async fn wrong_expected_hash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let a = dir.path().join("a.bin");
        std::fs::write(&a, b"changed").unwrap();
        let stale = ObjectId::of_bytes(b"original");
        let err = store.put_file(&a, Some(&stale)).await.unwrap_err();
        assert!(err.to_string().contains("changed while sluice was reading"), "{err}");
        assert!(store.list().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn remote_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mem = Arc::new(object_store::memory::InMemory::new());
        let store = Objects::with_store(mem, "memory://", "p", dir.path().join("tmp")).unwrap();
        let a = dir.path().join("a.bin");
        let data: Vec<u8> = (0..(9u32 << 20)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&a, &data).unwrap();
        let (id, size, new) = store.put_file(&a, None).await.unwrap();
        assert!(new);
        assert_eq!(size, data.len() as u64);
        assert_eq!(id, ObjectId::of_bytes(&data));
        assert_eq!(store.rehash(&id).await.unwrap(), Some(id.clone()));
        let listed = store.list().await.unwrap();
        assert_eq!(
            listed,
            vec![ObjectInfo {
                id: id.clone(),
                size: data.len() as u64
            }]
        );
        let out = dir.path().join("out.bin");
        store.copy_to(&id, &out).await.unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), data);
        let wrong = ObjectId::of_bytes(b"x");
        let b = dir.path().join("b.bin");
        std::fs::write(&b, b"y").unwrap();
        assert!(store.put_file(&b, Some(&wrong)).await.is_err());
        assert!(!store.exists(&wrong).await.unwrap());
    }
}
