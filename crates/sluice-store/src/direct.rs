//! Copying a file into the store without going through the page cache.
//!
//! A first `sluice add` of an image folder reads every byte once and writes it once. Through the
//! page cache, each of those bytes costs a freshly allocated cache page on both sides, and on a
//! virtual machine that allocation, not the disk, is most of the time: on the project's 2-core VM,
//! `dd` writes 2 GB in 5.2 s buffered and 1.1 s with `O_DIRECT` (docs/benchmarks.md). The store's
//! copies are written once and read rarely, so caching them also evicts pages the user wants.
//!
//! `O_DIRECT` needs the buffer, the file offset and the length aligned to the device's logical
//! block. Every read here is of a whole [`CHUNK`] at a chunk-aligned offset, and so is every
//! write but the last block of a file whose length is not a multiple of the alignment: that
//! tail is written through the page cache by a second descriptor. Filesystems without `O_DIRECT` (tmpfs, some FUSE mounts) answer
//! `EINVAL`, and the caller falls back to a buffered copy.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Alignment of buffers, offsets and lengths: the largest logical block size in common use.
const ALIGN: usize = 4096;
/// Bytes per read and write.
const CHUNK: usize = 1 << 20;

/// What a direct copy did.
pub(crate) enum Direct {
    /// Copied: the BLAKE3 hash of exactly the bytes written, and their count.
    Copied(blake3::Hash, u64),
    /// The filesystem does not do `O_DIRECT`; nothing was written to `dst`'s content.
    Unsupported,
}

fn is_unsupported(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// Copies `src` to a new file `dst` with `O_DIRECT` on both sides, hashing as it goes.
/// With `read_direct` false the source is read through the page cache (worth it when the caller
/// reads the file again right after, as tables are).
pub(crate) fn copy_hashing_direct(src: &Path, dst: &Path, read_direct: bool) -> io::Result<Direct> {
    let mut open_src = OpenOptions::new();
    open_src.read(true);
    if read_direct {
        open_src.custom_flags(libc::O_DIRECT);
    }
    let input = match open_src.open(src) {
        Err(e) if is_unsupported(&e) => return Ok(Direct::Unsupported),
        r => r?,
    };
    let output = match OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(dst)
    {
        Err(e) if is_unsupported(&e) => return Ok(Direct::Unsupported),
        r => r?,
    };
    let expected_len = input.metadata()?.len();
    BUF.with_borrow_mut(|storage| {
        let start = storage.as_ptr().align_offset(ALIGN);
        let buf = &mut storage[start..start + CHUNK];
        let mut hasher = blake3::Hasher::new();
        let mut offset = 0u64;
        loop {
            // Ask for no more than the file holds (rounded up to the alignment): reading a whole
            // chunk past the end of a small file makes the kernel zero-fill the rest.
            let want = (expected_len - offset.min(expected_len))
                .next_multiple_of(ALIGN as u64)
                .max(ALIGN as u64);
            let want = want.min(CHUNK as u64) as usize;
            let n = match read_full(&input, &mut buf[..want], offset) {
                Err(e) if offset == 0 && is_unsupported(&e) => return Ok(Direct::Unsupported),
                r => r?,
            };
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            // The aligned head goes around the page cache; a ragged tail (under one block) goes
            // through it, which is cheaper than padding the block and truncating it afterwards
            // (the truncate reads the block back from disk to zero its end).
            let head = n - n % ALIGN;
            if head > 0 {
                match output.write_all_at(&buf[..head], offset) {
                    Err(e) if offset == 0 && is_unsupported(&e) => return Ok(Direct::Unsupported),
                    r => r?,
                }
            }
            if head < n {
                let tail = OpenOptions::new().write(true).open(dst)?;
                tail.write_all_at(&buf[head..n], offset + head as u64)?;
            }
            offset += n as u64;
            if n < want {
                break;
            }
        }
        if offset != expected_len {
            return Err(io::Error::other(format!(
                "the file changed size while being copied ({expected_len} bytes before, {offset} read)"
            )));
        }
        Ok(Direct::Copied(hasher.finalize(), offset))
    })
}

thread_local! {
    /// Each blocking thread's copy buffer, with room to start at an aligned address: allocated
    /// once per thread instead of once per file (a fresh megabyte costs page faults each time).
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; CHUNK + ALIGN]);
}

/// Reads until `buf` is full or the file ends. Every read starts at an aligned offset: a short
/// read only happens at the end of the file, after which the loop stops.
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled % ALIGN != 0 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize, read_direct: bool) {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        match copy_hashing_direct(&src, &dst, read_direct).unwrap() {
            Direct::Copied(hash, n) => {
                assert_eq!(n, len as u64);
                assert_eq!(hash, blake3::hash(&data));
                assert_eq!(std::fs::read(&dst).unwrap(), data);
            }
            // tmpfs has no O_DIRECT; the buffered path is tested in objects.rs.
            Direct::Unsupported => {}
        }
    }

    #[test]
    fn copies_exact_bytes_at_every_alignment() {
        for len in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 12345,
        ] {
            roundtrip(len, true);
            roundtrip(len, false);
        }
    }
}
