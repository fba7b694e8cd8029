//! Configuration files from the disk, for the core loader.

use continuo_core::SourceProvider;
use std::path::{Path, PathBuf};

/// Reads configuration files from the local file system.
pub struct Disk;

impl SourceProvider for Disk {
    fn read(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String> {
        let text = pattern.to_str().ok_or("the pattern is not valid UTF-8")?;
        let paths = glob::glob(text).map_err(|e| e.to_string())?;
        let mut files: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        Ok(files)
    }

    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }
}
