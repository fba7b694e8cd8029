//! Reading a file Continuo was pointed at (a configuration file, a CA bundle, a
//! template, a runbook) with a bound on its size: `ca_file = "/dev/zero"` or a file
//! that grew by mistake must end in a clear error, not in memory growing without end.

use std::io::Read as _;
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum BoundedReadError {
    /// The file has more than the limit.
    #[error("larger than {}", shown(*limit))]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Reads the whole file at `path`, refusing one of more than `limit` bytes. It reads at
/// most `limit + 1` bytes, whatever the file claims (a device or a pipe claims nothing).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, BoundedReadError> {
    let file = std::fs::File::open(path)?;
    let mut data = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge { limit });
    }
    Ok(data)
}

/// A size as people say it: `4 MiB`, `512 KiB`, `100 bytes`.
pub fn shown(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, b"0123456789").expect("written");
        assert_eq!(read_bounded(&path, 10).expect("read"), b"0123456789");
        let error = read_bounded(&path, 9).expect_err("one byte too many");
        assert_eq!(error.to_string(), "larger than 9 bytes");
    }

    /// Regression (issue 16, failure 8): `/dev/zero` never ends; reading it stops at the
    /// limit with an error instead of growing without bound.
    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let error = read_bounded(Path::new("/dev/zero"), 4 * 1024 * 1024).expect_err("endless");
        assert!(matches!(error, BoundedReadError::TooLarge { limit } if limit == 4 << 20));
        assert_eq!(error.to_string(), "larger than 4 MiB");
    }

    #[test]
    fn a_missing_file_says_so() {
        let error = read_bounded(Path::new("/nonexistent/ca.pem"), 10).expect_err("missing");
        assert!(matches!(error, BoundedReadError::Io(_)), "{error}");
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        for (bytes, text) in [
            (100, "100 bytes"),
            (1024, "1 KiB"),
            (1536, "1536 bytes"),
            (4 << 20, "4 MiB"),
        ] {
            assert_eq!(shown(bytes), text);
        }
    }
}
