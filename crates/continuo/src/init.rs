//! `continuo init`: writes the example configuration of a small webshop company, or with
//! `--full` the example that shows every field (optional ones commented out).
//!
//! Files that already exist are kept (and named), unless `--force`: running `init` on a
//! folder that holds a configuration must never destroy it, and re-running it restores
//! only what is missing.

use anyhow::Context;
use continuo_core::{Lang, tr};
use std::path::PathBuf;
use std::process::ExitCode;

/// The example files, by path relative to the target directory.
const EXAMPLE: &[(&str, &str)] = &[
    (
        "continuo.toml",
        include_str!("../assets/example/continuo.toml"),
    ),
    ("risks.toml", include_str!("../assets/example/risks.toml")),
    (
        "services/shop.toml",
        include_str!("../assets/example/services/shop.toml"),
    ),
    (
        "services/platform.toml",
        include_str!("../assets/example/services/platform.toml"),
    ),
    (
        "services/data.toml",
        include_str!("../assets/example/services/data.toml"),
    ),
    (
        "runbooks/storefront.md",
        include_str!("../assets/example/runbooks/storefront.md"),
    ),
    (
        "runbooks/checkout.md",
        include_str!("../assets/example/runbooks/checkout.md"),
    ),
    (
        "runbooks/payments.md",
        include_str!("../assets/example/runbooks/payments.md"),
    ),
    (
        "runbooks/identity.md",
        include_str!("../assets/example/runbooks/identity.md"),
    ),
    (
        "runbooks/shop-db.md",
        include_str!("../assets/example/runbooks/shop-db.md"),
    ),
    (
        "runbooks/backups.md",
        include_str!("../assets/example/runbooks/backups.md"),
    ),
    (
        "runbooks/erp.md",
        include_str!("../assets/example/runbooks/erp.md"),
    ),
];

/// The full example: one root file using every field, the file it includes and the
/// runbooks it names. `crates/continuo/tests/cli.rs` checks it loads and covers
/// `continuo_core::schema::sections()`.
const FULL: &[(&str, &str)] = &[
    (
        "continuo.toml",
        include_str!("../assets/full/continuo.toml"),
    ),
    ("risks.toml", include_str!("../assets/full/risks.toml")),
    (
        "runbooks/storefront.md",
        include_str!("../assets/full/runbooks/storefront.md"),
    ),
    (
        "runbooks/payments.md",
        include_str!("../assets/full/runbooks/payments.md"),
    ),
];

/// What `init` writes and whether it may replace existing files.
pub struct Options {
    /// The folder to write into; created when missing.
    pub dir: PathBuf,
    /// Replace files that exist.
    pub force: bool,
    /// Write the example with every field instead of the webshop.
    pub full: bool,
}

pub fn run(options: &Options, lang: Lang) -> anyhow::Result<ExitCode> {
    let files = if options.full { FULL } else { EXAMPLE };
    let mut written = 0;
    let mut kept = Vec::new();
    for (path, text) in files {
        let target = options.dir.join(path);
        if target.exists() && !options.force {
            kept.push(target.display().to_string());
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        written += 1;
    }
    let root = options.dir.join("continuo.toml");
    let shown = root.display();
    let message = tr!(
        "files written: {written}; the configuration starts at {shown}",
        "bestanden geschreven: {written}; de configuratie begint bij {shown}"
    );
    println!("{}", message.get(lang));
    if !kept.is_empty() {
        let list = kept.join(", ");
        let message = tr!(
            "kept what exists: {list} (--force replaces it)",
            "behouden wat al bestond: {list} (--force vervangt het)"
        );
        println!("{}", message.get(lang));
    }
    let message = tr!(
        "next: continuo check -c {shown}\n      continuo bia -c {shown}",
        "volgende stap: continuo check -c {shown}\n               continuo bia -c {shown}"
    );
    println!("{}", message.get(lang));
    Ok(ExitCode::SUCCESS)
}
