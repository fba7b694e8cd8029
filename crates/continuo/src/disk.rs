//! Configuration files from the disk, for the core loader: read with a bound on their
//! size, and include patterns expanded by a walk that never follows a symbolic link loop
//! (the `glob` crate's `**` followed one forever).

use continuo_core::{GlobError, ReadError, SourceProvider};
use continuo_net::file::{BoundedReadError, read_bounded};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Entries an include pattern may walk through before it is refused: far more than a
/// configuration folder holds, far fewer than a walk of `/` would visit.
const MAX_ENTRIES: usize = 100_000;

/// Reads configuration files from the local file system.
pub struct Disk;

impl SourceProvider for Disk {
    fn read(&self, path: &Path) -> Result<String, String> {
        let bytes = self
            .read_bytes(path, continuo_core::load::MAX_CONFIG_FILE_BYTES)
            .map_err(|e| match e {
                ReadError::TooLarge(limit) => {
                    format!("larger than {}", continuo_net::file::shown(limit))
                }
                ReadError::Other(reason) => reason,
            })?;
        String::from_utf8(bytes).map_err(|e| e.utf8_error().to_string())
    }

    fn read_bytes(&self, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
        read_bounded(path, limit).map_err(|e| match e {
            BoundedReadError::TooLarge { limit } => ReadError::TooLarge(limit),
            BoundedReadError::Io(e) => ReadError::Other(e.to_string()),
        })
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, String> {
        self.glob_files(pattern).map_err(|e| match e {
            GlobError::Pattern(reason) | GlobError::Other(reason) => reason,
            GlobError::SymlinkLoop(at) => format!("a symbolic link loop at {}", at.display()),
        })
    }

    fn glob_files(&self, pattern: &Path) -> Result<Vec<PathBuf>, GlobError> {
        // As the walk will spell the paths it finds (`a/./b` is `a/b`).
        let pattern: PathBuf = pattern.components().collect();
        let text = pattern
            .to_str()
            .ok_or_else(|| GlobError::Pattern("the pattern is not valid UTF-8".into()))?;
        let matcher = glob::Pattern::new(text).map_err(|e| GlobError::Pattern(e.to_string()))?;
        // The walk starts where the pattern's first wildcard is.
        let mut base = PathBuf::new();
        let mut rest = 0;
        for (i, part) in pattern.components().enumerate() {
            if part.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
                rest = pattern.components().count() - i;
                break;
            }
            base.push(part);
        }
        let deep = text.contains("**");
        let mut walk = Walk {
            matcher,
            options: glob::MatchOptions {
                require_literal_separator: true,
                ..glob::MatchOptions::new()
            },
            found: Vec::new(),
            entries: 0,
        };
        let mut ancestors = Vec::new();
        walk.folder(&base, rest, deep, &mut ancestors)?;
        walk.found.sort();
        Ok(walk.found)
    }

    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn canonical(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| continuo_core::load::normalize(path))
    }
}

struct Walk {
    matcher: glob::Pattern,
    options: glob::MatchOptions,
    found: Vec<PathBuf>,
    entries: usize,
}

impl Walk {
    /// Collects the matching files in `folder`, `levels` components deep (any depth when
    /// `deep`). `ancestors` are the real paths of the folders being walked: a link back
    /// to one of them is a loop.
    fn folder(
        &mut self,
        folder: &Path,
        levels: usize,
        deep: bool,
        ancestors: &mut Vec<PathBuf>,
    ) -> Result<(), GlobError> {
        if levels == 0 && !deep {
            return Ok(());
        }
        let listed = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let Ok(real) = std::fs::canonicalize(listed) else {
            return Ok(()); // Nothing there: the include matches no file.
        };
        if ancestors.contains(&real) {
            return Err(GlobError::SymlinkLoop(folder.to_path_buf()));
        }
        let Ok(entries) = std::fs::read_dir(listed) else {
            return Ok(());
        };
        let mut children: BTreeSet<PathBuf> = BTreeSet::new();
        for entry in entries.flatten() {
            self.entries += 1;
            if self.entries > MAX_ENTRIES {
                return Err(GlobError::Other(format!(
                    "it walks through more than {MAX_ENTRIES} files and folders"
                )));
            }
            children.insert(folder.join(entry.file_name()));
        }
        ancestors.push(real);
        for child in children {
            // `metadata` follows links: a linked folder is walked (loops caught above), a
            // linked file is matched.
            let Ok(meta) = std::fs::metadata(&child) else {
                continue;
            };
            if meta.is_dir() {
                self.folder(&child, levels.saturating_sub(1), deep, ancestors)?;
            } else if meta.is_file() && self.matcher.matches_path_with(&child, self.options) {
                self.found.push(child);
            }
        }
        ancestors.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("folders");
        std::fs::write(path, "").expect("written");
    }

    #[test]
    fn patterns_match_files_as_glob_does() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        for file in ["a.toml", "b.txt", "conf.d/c.toml", "conf.d/deep/d.toml"] {
            touch(&root.join(file));
        }
        let found = |pattern: &str| -> Vec<String> {
            Disk.glob_files(&root.join(pattern))
                .expect("expanded")
                .iter()
                .map(|p| p.strip_prefix(root).expect("below").display().to_string())
                .collect()
        };
        assert_eq!(found("*.toml"), ["a.toml"]);
        assert_eq!(found("conf.d/*.toml"), ["conf.d/c.toml"]);
        assert_eq!(found("*/*.toml"), ["conf.d/c.toml"]);
        assert_eq!(
            found("**/*.toml"),
            ["a.toml", "conf.d/c.toml", "conf.d/deep/d.toml"]
        );
        assert!(found("missing/*.toml").is_empty());
        assert!(matches!(
            Disk.glob_files(&root.join("[.toml")),
            Err(GlobError::Pattern(_))
        ));
    }

    /// Regression (issue 16, failure 8): an include glob through a symbolic link loop
    /// never finished. It now ends, naming the link.
    #[test]
    fn a_symlink_loop_ends_the_walk_with_its_place() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        touch(&root.join("conf.d/a.toml"));
        symlink("..", root.join("conf.d/loop")).expect("a link back up");
        let error = Disk
            .glob_files(&root.join("conf.d/**/*.toml"))
            .expect_err("a loop");
        assert_eq!(
            error,
            GlobError::SymlinkLoop(root.join("conf.d/loop/conf.d"))
        );
        // A link to a folder elsewhere (no loop) is followed.
        let other = tempfile::tempdir().expect("another directory");
        touch(&other.path().join("shared.toml"));
        std::fs::remove_file(root.join("conf.d/loop")).expect("removed");
        symlink(other.path(), root.join("conf.d/shared")).expect("a link across");
        let found = Disk
            .glob_files(&root.join("conf.d/**/*.toml"))
            .expect("expanded");
        assert_eq!(
            found,
            [
                root.join("conf.d/a.toml"),
                root.join("conf.d/shared/shared.toml")
            ]
        );
    }

    /// Regression (issue 16, failure 8): `-c /dev/zero` grew without bound.
    #[test]
    fn an_endless_file_is_read_up_to_the_limit() {
        let error = Disk
            .read_bytes(Path::new("/dev/zero"), 1024)
            .expect_err("endless");
        assert_eq!(error, ReadError::TooLarge(1024));
    }
}
