//! `continuo init`: writes the example configuration of a small webshop company.

use anyhow::Context;
use continuo_core::{Lang, tr};
use std::path::Path;
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

pub fn run(dir: &Path, force: bool, lang: Lang) -> anyhow::Result<ExitCode> {
    let existing: Vec<String> = EXAMPLE
        .iter()
        .map(|(path, _)| dir.join(path))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        let list = existing.join(", ");
        let message = tr!(
            "not overwriting existing files: {list}; use --force to replace them",
            "bestaande bestanden worden niet overschreven: {list}; gebruik --force om ze te vervangen"
        );
        eprintln!("{}", message.get(lang));
        return Ok(ExitCode::from(1));
    }
    for (path, text) in EXAMPLE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    let root = dir.join("continuo.toml");
    let shown = root.display();
    let count = EXAMPLE.len();
    let message = tr!(
        "wrote {count} files; the configuration starts at {shown}\nnext: continuo check -c {shown}\n      continuo bia -c {shown}",
        "{count} bestanden geschreven; de configuratie begint bij {shown}\nvolgende stap: continuo check -c {shown}\n               continuo bia -c {shown}"
    );
    println!("{}", message.get(lang));
    Ok(ExitCode::SUCCESS)
}
