//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::RunError;
use crate::admin;
use crate::config::{Config, KNOWN_ENV_VARS};

/// Cohort: a federated community server for health care.
#[derive(Debug, Parser)]
#[command(name = "cohort", version, about)]
pub struct Cli {
    /// Settings file (TOML). Environment variables (COHORT_*) override it.
    #[arg(long, global = true, env = "COHORT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Evaluate the PHI guard on a labelled JSON Lines corpus (format:
    /// shared/data/phi/README.md); the last line printed is the metrics as JSON.
    PhiEval {
        /// The corpus.
        path: PathBuf,
    },
    /// Evaluate the urgent-question router on a labelled JSON Lines corpus (format:
    /// shared/data/urgent/README.md); the last line printed is the metrics as JSON.
    UrgentEval {
        /// The corpus.
        path: PathBuf,
    },
    /// The home-timeline benchmark (scripts/bench-home-timeline runs it all).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Seed the configured empty database: accounts, statuses, a viewer's follows; prints
    /// `viewer=` and `token=` lines.
    SeedTimeline(crate::bench::SeedArgs),
    /// Time the bare store query behind the home timeline.
    QueryTimeline(crate::bench::QueryArgs),
    /// Time GET requests to a loopback URL (bounded in count and time).
    Http(crate::bench::HttpArgs),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a local account and print its id (and a generated password, once).
    CreateAccount(CreateAccountArgs),
    /// List local accounts.
    ListAccounts,
    /// Approve an account that signed up while registrations need approval.
    ApproveAccount {
        /// The username.
        username: String,
    },
}

/// Arguments of `cohort admin create-account`.
#[derive(Debug, Args)]
pub struct CreateAccountArgs {
    /// The username (letters, digits, underscores; at most 30).
    pub username: String,
    /// Sign-in email address.
    #[arg(long)]
    pub email: String,
    /// admin, moderator, clinician or member.
    #[arg(long, default_value = "member")]
    pub role: String,
    /// Read the password from standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective settings (secrets masked).
    Check,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), RunError> {
    // The evaluations read only their corpus: they need no configuration or database.
    match &cli.command {
        Command::PhiEval { path } => return crate::eval::phi(path),
        Command::UrgentEval { path } => return crate::eval::urgent(path),
        Command::Bench(BenchCommand::Http(args)) => return crate::bench::http(args).await,
        _ => {}
    }
    let config = Config::load(cli.config.as_deref(), &|name| std::env::var(name).ok())?;
    crate::logging::init(&config);
    warn_about_unknown_env_vars();
    match cli.command {
        Command::Serve => crate::serve::serve(config).await,
        Command::Migrate => {
            let store = crate::serve::open_store(&config).await?;
            let version = store.schema_version().await?.unwrap_or(0);
            store.close().await;
            println!("database is at migration {version}");
            Ok(())
        }
        Command::Admin(AdminCommand::CreateAccount(args)) => {
            admin::create_account(&config, &args, &mut std::io::stdin().lock()).await
        }
        Command::Admin(AdminCommand::ListAccounts) => admin::list_accounts(&config).await,
        Command::Admin(AdminCommand::ApproveAccount { username }) => {
            admin::approve_account(&config, &username).await
        }
        Command::Bench(BenchCommand::SeedTimeline(args)) => {
            crate::bench::seed_timeline(&config, &args).await
        }
        Command::Bench(BenchCommand::QueryTimeline(args)) => {
            crate::bench::query_timeline(&config, &args).await
        }
        Command::PhiEval { .. }
        | Command::UrgentEval { .. }
        | Command::Bench(BenchCommand::Http(_)) => Ok(()),
        Command::Config(ConfigCommand::Check) => {
            println!("{config}");
            eprintln!("configuration is valid");
            Ok(())
        }
    }
}

/// A misspelt `COHORT_*` variable is silently ignored by most servers; say so instead.
fn warn_about_unknown_env_vars() {
    for (name, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
        if name.starts_with("COHORT_") && !KNOWN_ENV_VARS.contains(&name.as_str()) {
            tracing::warn!(variable = %name, "unknown COHORT_ environment variable ignored");
        }
    }
}
