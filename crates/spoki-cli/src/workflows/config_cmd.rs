//! `spoki config`: the profiles of the config file.

use crate::config::{self, Config, Profile, mask};
use crate::error::{CliError, Result};
use crate::output::{Output, table};
use crate::target::Global;
use clap::Subcommand;
use secrecy::SecretString;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Add or change a profile. The key is read from stdin or an environment variable, never
    /// from the command line, where shell history would keep it.
    Set {
        /// The profile's name.
        name: String,
        /// Read the API key from the first line of stdin.
        #[arg(long, conflicts_with = "key_env")]
        key_stdin: bool,
        /// Read the API key from this environment variable.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
        /// The profile's API origin.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// List the profiles, keys masked.
    List,
    /// Remove a profile.
    Remove {
        /// The profile's name.
        name: String,
    },
    /// Print the config file's path.
    Path,
}

pub fn run(command: ConfigCommand, global: &Global, out: Output) -> Result<()> {
    let path = config::path(global.config.as_deref())?;
    match command {
        ConfigCommand::Set {
            name,
            key_stdin,
            key_env,
            url,
        } => {
            let key = if key_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(CliError::io("stdin"))?;
                Some(line.trim().to_owned())
            } else if let Some(var) = key_env {
                Some(crate::config::env_value(&var)?)
            } else {
                None
            };
            if key.as_deref().is_some_and(spoki_client::models::is_blank) {
                return Err(CliError::Usage("the API key is empty".into()));
            }
            let mut file = Config::load(&path)?;
            let profile = file
                .profiles
                .entry(name.clone())
                .or_insert_with(Profile::default);
            if let Some(key) = key {
                profile.api_key = Some(SecretString::from(key));
            }
            if let Some(url) = url {
                profile.base_url = Some(url);
            }
            file.save(&path)?;
            out.say(format!("profile {name:?} saved in {}", path.display()));
            out.summary(json!({"profile": name, "path": path}));
        }
        ConfigCommand::List => {
            let file = Config::load(&path)?;
            if out.json() {
                let profiles: serde_json::Map<_, _> = file
                    .profiles
                    .iter()
                    .map(|(name, p)| {
                        (
                            name.clone(),
                            json!({"api_key": p.api_key.as_ref().map(mask), "base_url": p.base_url}),
                        )
                    })
                    .collect();
                out.summary(json!({"path": path, "profiles": profiles}));
                return Ok(());
            }
            let mut t = table(&["profile", "api key", "origin"]);
            for (name, p) in &file.profiles {
                t.add_row(vec![
                    name.clone(),
                    p.api_key.as_ref().map(mask).unwrap_or_default(),
                    p.base_url.clone().unwrap_or_default(),
                ]);
            }
            out.say(format!("{}\n{t}", path.display()));
        }
        ConfigCommand::Remove { name } => {
            let mut file = Config::load(&path)?;
            if file.profiles.remove(&name).is_none() {
                return Err(CliError::Usage(format!("no profile {name:?}")));
            }
            file.save(&path)?;
            out.say(format!("profile {name:?} removed"));
            out.summary(json!({"removed": name}));
        }
        ConfigCommand::Path => {
            out.say(path.display().to_string());
            out.summary(json!({"path": path}));
        }
    }
    Ok(())
}
