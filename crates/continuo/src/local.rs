//! What the commands that work straight on the database share (`user`, `token`,
//! `audit`, `posture`, `evidence`, `report availability`): which configuration and
//! database (`-c`, `--database`), loading the catalog with its diagnostics, opening the
//! store, and refusals printed in the user's language with exit status 1.

use crate::{disk, render};
use anyhow::Context;
use clap::Args;
use continuo_core::diag::SourceMap;
use continuo_core::{Catalog, Lang, Text, tr};
use continuo_store::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which configuration and database to work on.
#[derive(Args, Debug)]
pub struct Database {
    /// The root configuration file (its catalog, and its `[server] database`).
    #[arg(
        short,
        long,
        env = "CONTINUO_CONFIG",
        default_value = "continuo.toml",
        global = true
    )]
    pub(crate) config: PathBuf,
    /// Use this database instead of the configuration's.
    #[arg(long, env = "CONTINUO_DATABASE", global = true)]
    pub(crate) database: Option<String>,
}

/// A refusal: what was wrong with what the user asked, in both languages.
#[derive(Debug)]
pub(crate) struct Refused(pub(crate) Text);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.en)
    }
}

impl std::error::Error for Refused {}

/// Refuses with `text`.
pub(crate) fn refused<T>(text: Text) -> anyhow::Result<T> {
    Err(Refused(text).into())
}

/// Prints a refusal in the user's language and exits 1; other errors go to `main`.
pub(crate) fn finish(result: anyhow::Result<ExitCode>, lang: Lang) -> anyhow::Result<ExitCode> {
    match result {
        Err(e) => match e.downcast_ref::<Refused>() {
            Some(Refused(text)) => {
                eprintln!("{}: {}", tr!("error", "fout").get(lang), text.get(lang));
                Ok(ExitCode::from(1))
            }
            None => Err(e),
        },
        ok => ok,
    }
}

/// The catalog of `config` and its sources; an invalid one prints its diagnostics and
/// is refused with `then` as the way out.
pub(crate) fn catalog(
    config: &Path,
    lang: Lang,
    then: Text,
) -> anyhow::Result<(Catalog, SourceMap)> {
    let outcome = continuo_core::load(config, &disk::Disk, &|name| std::env::var(name).ok());
    match outcome.catalog {
        Some(c) if !outcome.diagnostics.has_errors() => Ok((c, outcome.sources)),
        _ => {
            eprint!(
                "{}",
                render::diagnostics(
                    &outcome.diagnostics,
                    &outcome.sources,
                    lang,
                    render::DiagnosticFormat::Short,
                    false
                )
            );
            let shown = config.display();
            let (en, nl) = (&then.en, &then.nl);
            refused(tr!(
                "{shown}: invalid configuration; {en}",
                "{shown}: ongeldige configuratie; {nl}"
            ))
        }
    }
}

/// The database URL: `--database`, else the catalog's `[server] database` relative to
/// the configuration's folder.
pub(crate) fn database_url(database: &Database, catalog: &Catalog) -> String {
    match &database.database {
        Some(url) => url.clone(),
        None => {
            let base = database
                .config
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            crate::serve::database_url(&catalog.server.database, &base)
        }
    }
}

/// Opens (and migrates) the store at `url`.
pub(crate) async fn open_store(url: &str) -> anyhow::Result<Store> {
    Store::open(url)
        .await
        .with_context(|| format!("opening the database {url}"))
}

/// A runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Now, UTC unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
