//! `continuo user`, `continuo token` and `continuo audit`: who may sign in or call the
//! API, with which role, and what they did. These work on the database directly (the one
//! `serve` uses: `[server] database`, or `--database`), so the first admin can be made
//! before anything runs; every change is written to the audit log as `cli:<os user>`.

use crate::local::{self, Database, now_ms, refused, runtime};
use anyhow::Context;
use clap::{Args, Subcommand};
use continuo_core::access::{self, Role};
use continuo_core::{Lang, Text, tr};
use continuo_store::Store;
use continuo_store::access::{ApiToken, AuditEntry, User};
use continuo_web::credentials;
use std::io::{BufRead, IsTerminal};

use std::process::ExitCode;

/// `continuo user ...`
#[derive(Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    database: Database,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user who can sign in at /login; asks for the password.
    Add {
        /// The name to sign in with (letters, digits, . _ - @).
        name: String,
        /// viewer (reads), responder (acknowledges, resolves, maintenance) or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users and their roles.
    List,
    /// Remove a user; their sessions end at once.
    Remove {
        /// The user.
        name: String,
    },
    /// Set a new password; the user's sessions end at once.
    Passwd {
        /// The user.
        name: String,
        /// Read the password from the first line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's role; it applies to their sessions at once.
    Role {
        /// The user.
        name: String,
        /// viewer, responder or admin.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
}

/// `continuo token ...`
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    database: Database,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make an API token (printed once; send it as `Authorization: Bearer <token>`).
    Add {
        /// A name for people, e.g. the program that will use it.
        #[arg(long)]
        name: String,
        /// viewer, responder or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by name or id; it is refused from then on.
    Revoke {
        /// The token's name or id.
        token: String,
    },
}

/// `continuo audit`
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// How many entries, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    database: Database,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::from_name(text)
        .ok_or_else(|| format!("`{text}` is not a role; use viewer, responder or admin"))
}

/// A failure the user can fix: printed in their language, exit status 1.
async fn open(database: &Database, lang: Lang) -> anyhow::Result<Store> {
    let url = match &database.database {
        Some(url) => url.clone(),
        None => {
            let (catalog, _) = local::catalog(
                &database.config,
                lang,
                tr!(
                    "give the database with --database instead",
                    "geef de database dan met --database"
                ),
            )?;
            local::database_url(database, &catalog)
        }
    };
    local::open_store(&url).await
}

fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Who is at the keyboard, for the audit log.
fn operator() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("cli:{user}")
}

async fn audit(store: &Store, action: &str, target: &str) -> anyhow::Result<()> {
    let entry = AuditEntry {
        id: credentials::random_hex(16)?,
        at_ms: now_ms(),
        actor: operator(),
        role: Role::Admin.name().into(),
        action: action.into(),
        target: target.into(),
        address: "local".into(),
        outcome: 0,
    };
    store.audit(&entry).await.context("writing the audit log")
}

/// A new password: the first line of stdin, or asked twice on the terminal.
fn read_password(from_stdin: bool, user: &str, lang: Lang) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            return refused(tr!(
                "no terminal to ask for the password on; pipe it in with --password-stdin",
                "geen terminal om het wachtwoord te vragen; geef het via --password-stdin"
            ));
        }
        let first = rpassword::prompt_password(tr!("Password: ", "Wachtwoord: ").get(lang))
            .context("reading the password")?;
        let again =
            rpassword::prompt_password(tr!("Password again: ", "Wachtwoord nogmaals: ").get(lang))
                .context("reading the password")?;
        if first != again {
            return refused(tr!(
                "the passwords differ; nothing changed",
                "de wachtwoorden verschillen; er is niets gewijzigd"
            ));
        }
        first
    };
    if let Err(problem) = access::new_password(&password, user) {
        return refused(problem);
    }
    Ok(password)
}

fn user_name(name: &str) -> anyhow::Result<String> {
    access::user_name(name).or_else(refused)
}

/// Prints a refusal in the user's language (exit 1); other errors go to `main`.
fn finish(result: anyhow::Result<()>, lang: Lang) -> anyhow::Result<ExitCode> {
    local::finish(result.map(|()| ExitCode::SUCCESS), lang)
}

/// `continuo user ...`
pub fn user(args: UserArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        match args.command {
            UserCommand::Add {
                name,
                role,
                password_stdin,
            } => {
                let name = user_name(&name)?;
                let store = open(&args.database, lang).await?;
                if store.user(&name).await?.is_some() {
                    return refused(tr!(
                        "there is already a user `{name}`; use `continuo user passwd` or `continuo user role` to change it",
                        "er is al een gebruiker `{name}`; wijzig die met `continuo user passwd` of `continuo user role`"
                    ));
                }
                let password = read_password(password_stdin, &name, lang)?;
                let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
                    .await??;
                let now = now_ms();
                let added = store
                    .add_user(&User {
                        name: name.clone(),
                        role,
                        password_hash: hash,
                        created_ms: now,
                        updated_ms: now,
                    })
                    .await?;
                if !added {
                    return refused(tr!(
                        "there is already a user `{name}`",
                        "er is al een gebruiker `{name}`"
                    ));
                }
                audit(&store, "user.add", &format!("{name} ({})", role.name())).await?;
                let label = role.label();
                println!(
                    "{}",
                    Text::new(
                        format!("added {name} as {}; they can sign in at /login", label.en),
                        format!("{name} toegevoegd als {}; inloggen kan op /login", label.nl),
                    )
                    .get(lang)
                );
                Ok(())
            }
            UserCommand::List => {
                let store = open(&args.database, lang).await?;
                let users = store.users().await?;
                if users.is_empty() {
                    println!(
                        "{}",
                        tr!(
                            "no users yet; add one with `continuo user add NAME --role admin`",
                            "nog geen gebruikers; voeg er een toe met `continuo user add NAAM --role admin`"
                        )
                        .get(lang)
                    );
                }
                for u in users {
                    println!(
                        "{:<32} {:<12} {}",
                        u.name,
                        u.role.label().get(lang),
                        tr!("since {t}", "sinds {t}"; t = when(u.created_ms)).get(lang)
                    );
                }
                Ok(())
            }
            UserCommand::Remove { name } => {
                let name = user_name(&name)?;
                let store = open(&args.database, lang).await?;
                if !store.remove_user(&name).await? {
                    return refused(tr!("there is no user `{name}`", "er is geen gebruiker `{name}`"));
                }
                audit(&store, "user.remove", &name).await?;
                println!(
                    "{}",
                    tr!("removed {name}; their sessions have ended", "{name} verwijderd; de sessies zijn beëindigd").get(lang)
                );
                Ok(())
            }
            UserCommand::Passwd {
                name,
                password_stdin,
            } => {
                let name = user_name(&name)?;
                let store = open(&args.database, lang).await?;
                if store.user(&name).await?.is_none() {
                    return refused(tr!("there is no user `{name}`", "er is geen gebruiker `{name}`"));
                }
                let password = read_password(password_stdin, &name, lang)?;
                let hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
                    .await??;
                if !store.set_password(&name, &hash, now_ms()).await? {
                    return refused(tr!("there is no user `{name}`", "er is geen gebruiker `{name}`"));
                }
                audit(&store, "user.passwd", &name).await?;
                println!(
                    "{}",
                    tr!(
                        "password of {name} changed; their sessions have ended",
                        "wachtwoord van {name} gewijzigd; de sessies zijn beëindigd"
                    )
                    .get(lang)
                );
                Ok(())
            }
            UserCommand::Role { name, role } => {
                let name = user_name(&name)?;
                let store = open(&args.database, lang).await?;
                if !store.set_role(&name, role, now_ms()).await? {
                    return refused(tr!("there is no user `{name}`", "er is geen gebruiker `{name}`"));
                }
                audit(&store, "user.role", &format!("{name} ({})", role.name())).await?;
                let label = role.label();
                println!(
                    "{}",
                    Text::new(
                        format!("{name} is now {}", label.en),
                        format!("{name} is nu {}", label.nl)
                    )
                    .get(lang)
                );
                Ok(())
            }
        }
    });
    finish(result, lang)
}

/// `continuo token ...`
pub fn token(args: TokenArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        let store = || open(&args.database, lang);
        match &args.command {
            TokenCommand::Add { name, role } => {
                let name = access::token_name(name).or_else(refused)?;
                let store = store().await?;
                if store.tokens().await?.iter().any(|t| t.name == name) {
                    return refused(tr!(
                        "there is already a token `{name}`; revoke it or choose another name",
                        "er is al een token `{name}`; trek het in of kies een andere naam"
                    ));
                }
                let made = credentials::new_api_token()?;
                let added = store
                    .add_token(&ApiToken {
                        id: made.id.clone(),
                        name: name.clone(),
                        role: *role,
                        secret_hash: made.secret_hash,
                        created_by: operator(),
                        created_ms: now_ms(),
                        last_used_ms: None,
                        revoked_ms: None,
                    })
                    .await?;
                if !added {
                    return refused(tr!(
                        "there is already a token `{name}`",
                        "er is al een token `{name}`"
                    ));
                }
                audit(&store, "token.add", &format!("{name} ({})", role.name())).await?;
                // The token alone on stdout, so a script can capture it; the note on stderr.
                println!("{}", made.token);
                let label = role.label();
                eprintln!(
                    "{}",
                    Text::new(
                        format!(
                            "token {name} ({}, id {}): store it now, it is not shown again; send it as `Authorization: Bearer <token>`",
                            label.en, made.id
                        ),
                        format!(
                            "token {name} ({}, id {}): bewaar het nu, het wordt niet nog eens getoond; stuur het mee als `Authorization: Bearer <token>`",
                            label.nl, made.id
                        ),
                    )
                    .get(lang)
                );
                Ok(())
            }
            TokenCommand::List => {
                let tokens = store().await?.tokens().await?;
                if tokens.is_empty() {
                    println!(
                        "{}",
                        tr!(
                            "no tokens yet; make one with `continuo token add --name NAME --role viewer`",
                            "nog geen tokens; maak er een met `continuo token add --name NAAM --role viewer`"
                        )
                        .get(lang)
                    );
                }
                for t in tokens {
                    let state = match (t.revoked_ms, t.last_used_ms) {
                        (Some(r), _) => tr!("revoked {t}", "ingetrokken {t}"; t = when(r)),
                        (None, Some(u)) => tr!("last used {t}", "laatst gebruikt {t}"; t = when(u)),
                        (None, None) => tr!("never used", "nooit gebruikt"),
                    };
                    println!(
                        "{:<24} {:<16} {:<12} {}",
                        t.name,
                        t.id,
                        t.role.label().get(lang),
                        state.get(lang)
                    );
                }
                Ok(())
            }
            TokenCommand::Revoke { token } => {
                let store = store().await?;
                if !store.revoke_token(token, now_ms()).await? {
                    return refused(tr!(
                        "there is no active token named `{token}` or with that id",
                        "er is geen actief token met naam of id `{token}`"
                    ));
                }
                audit(&store, "token.revoke", token).await?;
                println!(
                    "{}",
                    tr!("revoked {token}; it is refused from now on", "{token} ingetrokken; het wordt vanaf nu geweigerd").get(lang)
                );
                Ok(())
            }
        }
    });
    finish(result, lang)
}

/// `continuo audit`
pub fn audit_log(args: AuditArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let result = runtime()?.block_on(async {
        let store = open(&args.database, lang).await?;
        let entries = store.audit_log(None, args.limit.clamp(1, 10_000)).await?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "entries": entries }))?
            );
            return Ok(());
        }
        if entries.is_empty() {
            println!(
                "{}",
                tr!("the audit log is empty", "het auditlog is leeg").get(lang)
            );
        }
        for e in entries {
            println!(
                "{}  {:<24} {:<10} {:<24} {:<40} {:<16} {}",
                when(e.at_ms),
                e.actor,
                e.role,
                e.action,
                e.target,
                e.address,
                e.outcome
            );
        }
        Ok(())
    });
    finish(result, lang)
}

/// The token the CLI presents to a running server: `CONTINUO_TOKEN` (an API token),
/// else `CONTINUO_ADMIN_TOKEN`.
pub fn api_token() -> Option<String> {
    ["CONTINUO_TOKEN", "CONTINUO_ADMIN_TOKEN"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|t| !t.is_empty()))
}
