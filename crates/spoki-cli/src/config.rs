//! Named profiles (an API key and an origin each) in a TOML file in the platform's config
//! directory, so a key is typed once, not on every command line or in shell history.

use crate::error::{CliError, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// The config file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One named target.
#[derive(Default, Serialize, Deserialize)]
pub struct Profile {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose"
    )]
    pub api_key: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_key", &self.api_key.as_ref().map(mask))
            .field("base_url", &self.base_url)
            .finish()
    }
}

// Only the file itself ever holds the key in clear.
fn expose<S: serde::Serializer>(key: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    key.as_ref().map(|k| k.expose_secret()).serialize(s)
}

/// A key as `config list` shows it: its last four characters at most, and only when the key
/// is long enough that they give little away.
pub fn mask(key: &SecretString) -> String {
    let key = key.expose_secret();
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "****".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// The value of the environment variable `var`, which names where a credential is kept (a
/// flag's value would stay in `ps` and the shell's history).
pub fn env_value(var: &str) -> Result<String> {
    std::env::var(var)
        .map_err(|_| CliError::Usage(format!("the environment variable {var} is not set")))
}

/// Where the config file is: `explicit` if given, else `spoki/config.toml` in the platform's
/// config directory.
pub fn path(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    directories::ProjectDirs::from("com", "Spoki", "spoki")
        .map(|dirs| dirs.config_dir().join("config.toml"))
        .ok_or_else(|| {
            CliError::Usage("no home directory: give the config file with --config".into())
        })
}

impl Config {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .map_err(|e| CliError::Usage(format!("{}: {}", path.display(), e.message()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(CliError::io(path)(e)),
        }
    }

    /// Writes the file, readable by its owner only, replacing it whole.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).expect("a config always encodes");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(CliError::io(dir))?;
        }
        let temp = path.with_extension("toml.tmp");
        write_private(&temp, text.as_bytes()).map_err(CliError::io(&temp))?;
        std::fs::rename(&temp, path).map_err(CliError::io(path))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    // A leftover file from an interrupted save keeps its mode when reopened: start afresh.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_keeps_at_most_four_characters_of_a_long_key() {
        let long = SecretString::from("sk-live-0123456789abcdef");
        assert_eq!(mask(&long), "****cdef");
        assert_eq!(mask(&SecretString::from("short-key")), "****");
    }

    #[test]
    fn a_saved_config_loads_back_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config.toml");
        let mut config = Config::default();
        config.profiles.insert(
            "acme".into(),
            Profile {
                api_key: Some("k-123".into()),
                base_url: Some("http://127.0.0.1:1".into()),
            },
        );
        config.save(&path).unwrap();
        let loaded = Config::load(&path).unwrap();
        let acme = &loaded.profiles["acme"];
        assert_eq!(acme.api_key.as_ref().unwrap().expose_secret(), "k-123");
        assert!(!format!("{loaded:?}").contains("k-123"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
