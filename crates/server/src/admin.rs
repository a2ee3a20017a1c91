//! `cohort admin ...`: account management from the command line, for the first admin and
//! for operators without a browser.

use std::io::BufRead;

use cohort_api::passwords::{MIN_PASSWORD_CHARS, generate_password, hash_password};
use cohort_federation::keys::generate_actor_keys;
use cohort_federation::urls::LocalUrls;
use cohort_model::{AuthorKind, Role, Username};
use cohort_store::{NewLocalAccount, StoreError};

use crate::RunError;
use crate::cli::CreateAccountArgs;
use crate::config::Config;
use crate::serve::open_store;

/// Creates an account. Prints the id on the first line of stdout and, when the password was
/// generated, `password: ...` on the second, so scripts can read both.
pub async fn create_account(
    config: &Config,
    args: &CreateAccountArgs,
    stdin: &mut dyn BufRead,
) -> Result<(), RunError> {
    let username = Username::parse(&args.username).map_err(|e| RunError::Argument {
        argument: "USERNAME",
        reason: e.to_string(),
    })?;
    let email = validate_email(&args.email)?;
    let role: Role =
        args.role
            .parse()
            .map_err(|e: cohort_model::RoleError| RunError::Argument {
                argument: "--role",
                reason: e.to_string(),
            })?;
    let (password, generated) = if args.password_stdin {
        (read_password(stdin)?, false)
    } else {
        (generate_password(), true)
    };

    let password_hash = hash_password(&password).map_err(|e| RunError::Other(e.to_string()))?;
    let keys = tokio::task::spawn_blocking(generate_actor_keys)
        .await
        .map_err(|e| RunError::Other(format!("key generation failed: {e}")))?
        .map_err(|e| RunError::Other(e.to_string()))?;
    let urls = LocalUrls::new(&config.domain, config.plain_http());
    let author_kind = if role == Role::Clinician {
        AuthorKind::Clinician
    } else {
        AuthorKind::Patient
    };
    let new = NewLocalAccount {
        actor_uri: urls.actor(&username),
        inbox_uri: urls.inbox(&username),
        shared_inbox_uri: urls.shared_inbox(),
        followers_uri: urls.followers(&username),
        url: urls.profile_page(&username),
        key_id: urls.key_id(&username),
        username,
        email,
        role,
        author_kind,
        password_hash,
        approved: true,
        // Professional boundaries: clinicians approve who follows them unless they change it.
        locked: role == Role::Clinician,
        public_key_pem: keys.public_key_pem,
        private_key_pem: keys.private_key_pem,
    };

    let store = open_store(config).await?;
    let created = store
        .create_local_account(&new)
        .await
        .map_err(|e| match e {
            StoreError::Conflict("username") => RunError::Argument {
                argument: "USERNAME",
                reason: format!("the username {:?} is already taken", args.username),
            },
            StoreError::Conflict("email") => RunError::Argument {
                argument: "--email",
                reason: format!("{:?} is already used by another account", args.email),
            },
            other => RunError::Store(other),
        })?;
    store.close().await;

    println!("{}", created.id);
    if generated {
        println!("password: {password}");
    }
    eprintln!(
        "created @{} ({}); sign in at {}{}",
        created.username,
        created.role,
        config.public_url(),
        if generated {
            " with the password above, shown only once"
        } else {
            ""
        }
    );
    Ok(())
}

/// Prints local accounts as a table.
pub async fn list_accounts(config: &Config) -> Result<(), RunError> {
    let store = open_store(config).await?;
    let accounts = store.list_local_accounts().await?;
    store.close().await;
    println!(
        "{:<20} {:<30} {:<10} {:<10} EMAIL",
        "ID", "USERNAME", "ROLE", "STATE"
    );
    for a in accounts {
        let state = if a.suspended_at.is_some() {
            "suspended"
        } else if !a.approved {
            "pending"
        } else {
            "active"
        };
        println!(
            "{:<20} {:<30} {:<10} {:<10} {}",
            a.id,
            a.username,
            a.role,
            state,
            a.email.unwrap_or_default()
        );
    }
    Ok(())
}

/// Approves an account waiting for approval (registrations in `approval` mode).
pub async fn approve_account(config: &Config, username: &str) -> Result<(), RunError> {
    let store = open_store(config).await?;
    let account = match store.local_account_by_username(username).await {
        Ok(a) => a,
        Err(StoreError::NotFound(_)) => {
            store.close().await;
            return Err(RunError::Argument {
                argument: "USERNAME",
                reason: format!("no local account is called {username:?}"),
            });
        }
        Err(e) => return Err(RunError::Store(e)),
    };
    let changed = store.approve_account(account.id).await?;
    store.close().await;
    if changed {
        println!("approved @{}", account.username);
    } else {
        println!("@{} was already approved", account.username);
    }
    Ok(())
}

fn validate_email(raw: &str) -> Result<String, RunError> {
    let email = raw.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email.to_owned())
    } else {
        Err(RunError::Argument {
            argument: "--email",
            reason: format!("{raw:?} is not an email address"),
        })
    }
}

fn read_password(stdin: &mut dyn BufRead) -> Result<String, RunError> {
    let mut line = String::new();
    stdin.read_line(&mut line).map_err(|e| {
        RunError::Other(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(RunError::Argument {
            argument: "--password-stdin",
            reason: format!("the password must be at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(validate_email("pat@example.org").is_ok());
        for bad in [
            "pat",
            "pat@",
            "@example.org",
            "pat@example",
            "p at@example.org",
            "a@b@c.org",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_passwords_from_stdin_are_refused() {
        let mut input = std::io::Cursor::new(b"short\n".to_vec());
        let err = read_password(&mut input).unwrap_err();
        assert!(err.to_string().starts_with("--password-stdin"));
        let mut input = std::io::Cursor::new(b"long enough password\n".to_vec());
        assert_eq!(read_password(&mut input).unwrap(), "long enough password");
    }
}
