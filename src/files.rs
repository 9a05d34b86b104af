//! Small file helpers shared by the credential store and the disclosure log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Permissions of a file only the service reads (credentials, the disclosure log).
pub const PRIVATE: u32 = 0o600;
/// Permissions of a file meant to be read by others (published checkpoints, public keys).
pub const PUBLIC: u32 = 0o644;

/// Replace `path` atomically with `bytes`: write a temporary file beside it with `mode`,
/// fsync it, rename it over `path`, fsync the directory. A crash leaves either the old file or
/// the new one, never half of one. The temporary file is removed if anything fails.
///
/// # Errors
/// The I/O error; `path` is then unchanged.
pub fn atomic_replace(path: &Path, tmp: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.jsonl");
        let tmp = dir.path().join("f.tmp");
        std::fs::write(&path, b"old\n").expect("write");
        atomic_replace(&path, &tmp, b"new\n", PRIVATE).expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"new\n");
        assert!(!tmp.exists());
        let missing_dir = dir.path().join("nope").join("f");
        assert!(atomic_replace(
            &missing_dir,
            &dir.path().join("nope").join("t"),
            b"x",
            PRIVATE
        )
        .is_err());
    }
}
