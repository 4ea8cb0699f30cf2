//! Checking that a data directory can hold data before the server starts, so that an unusable
//! one is a one-line error at startup rather than a failure at the first write.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::ConfigError;

/// The probe file's name; a leading dot keeps it out of partition directory listings.
const PROBE_NAME: &str = ".sluice-write-probe";

/// Creates `dir` (and its parents) if missing, then writes, syncs and removes a probe file.
pub fn check(dir: &Path) -> Result<(), ConfigError> {
    let unusable = |error: std::io::Error| ConfigError::DataDir {
        path: dir.to_path_buf(),
        reason: error.to_string(),
    };
    fs::create_dir_all(dir).map_err(unusable)?;
    let probe = dir.join(PROBE_NAME);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .and_then(|mut file| {
            file.write_all(b"sluice")?;
            file.sync_all()
        });
    let removed = fs::remove_file(&probe);
    written.map_err(unusable)?;
    removed.map_err(unusable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_created() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        check(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("taken");
        fs::write(&file, b"x").unwrap();
        let error = check(&file.join("data")).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("data directory "), "{message}");
        assert!(message.contains("is unusable: "), "{message}");
        assert_eq!(message.lines().count(), 1);
    }
}
