//! Where a command sends its calls: an API key and an origin from the flags, the environment
//! or a profile, or the embedded local Spoki with `--mock`.

use crate::config::{self, Config, DEFAULT_PROFILE};
use crate::error::{CliError, Result};
use crate::journal::{Departures, Gated};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};
use spoki_client::{
    Client, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, ReqwestTransport, Transport,
};
use spoki_middleware::{RateLimitConfig, RetryPolicy};
use spoki_mock::{Fixtures, MockSpoki};
use std::path::PathBuf;

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
// Without an explicit `about`, clap would take the doc comment above as the program's.
#[command(next_help_heading = "Global options", about = None, long_about = None)]
pub struct Global {
    /// API key of the account or agency to act as.
    #[arg(
        long,
        global = true,
        env = "SPOKI_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<SecretString>,
    /// API origin [default: the profile's, else `https://api.spoki.com`].
    #[arg(long, global = true, env = "SPOKI_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Profile of the config file to take the key and origin from [default: `default`].
    #[arg(long, global = true, env = "SPOKI_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file [default: spoki/config.toml in the platform's config directory].
    #[arg(long, global = true, env = "SPOKI_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Run against a local Spoki started in this process, as its demo client account
    /// (id 101) unless --api-key says otherwise.
    #[arg(long, global = true)]
    pub mock: bool,
    /// Print machine-readable JSON on stdout instead of tables (the same as --output json).
    #[arg(long, global = true, conflicts_with = "output")]
    pub json: bool,
    /// How answers are printed: tables for people, JSON, or tab-separated rows for scripts
    /// (with tsv, reports meant for people go to stderr).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<crate::output::Format>,
    /// Show credentials that answers carry (a new webhook's secret, a private key) instead of
    /// masking them.
    #[arg(long, global = true)]
    pub reveal_secrets: bool,
    /// Where `--api-key`'s value came from: set by the command line's parser, not a flag.
    #[arg(skip)]
    pub api_key_source: KeySource,
    /// Do not pace calls to Spoki's published rate limits (for a server without limits,
    /// such as `spoki mock --no-rate-limits`); answers of 429 are still waited out.
    #[arg(long, global = true)]
    pub no_pacing: bool,
}

/// Where the API key was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeySource {
    /// Not given.
    #[default]
    None,
    /// On the command line.
    CommandLine,
    /// In `SPOKI_API_KEY`.
    Environment,
}

/// A configured client, and the local Spoki it talks to when `--mock` is given.
pub struct Target {
    pub client: Client,
    /// The demo credentials of the embedded local Spoki, with `--mock`.
    pub fixtures: Option<Fixtures>,
    // Kept alive for as long as the command runs.
    _mock: Option<MockSpoki>,
}

impl Global {
    /// The key and origin to use. With `--profile`, both come from the profile unless given on
    /// the command line: a key from the environment never goes to a profile's origin. Without
    /// it, flags and environment come first, then the `default` profile.
    fn resolve(&self) -> Result<(Option<SecretString>, Option<String>)> {
        let path = config::path(self.config.as_deref())?;
        let mut file = Config::load(&path)?;
        let name = self.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
        let profile = file.profiles.remove(name);
        if profile.is_none() && self.profile.is_some() {
            return Err(CliError::Usage(format!(
                "no profile {name:?} in {} (add it with `spoki config set {name}`)",
                path.display()
            )));
        }
        let profile = profile.unwrap_or_default();
        if self.profile.is_some() {
            let key = match self.api_key_source {
                KeySource::CommandLine => self.api_key.clone(),
                _ => None,
            };
            return Ok((key.or(profile.api_key), profile.base_url));
        }
        Ok((
            self.api_key.clone().or(profile.api_key),
            self.base_url.clone().or(profile.base_url),
        ))
    }

    /// Connects: starts the local Spoki first with `--mock`.
    pub async fn connect(&self) -> Result<Target> {
        self.connect_gated(None).await
    }

    /// [`connect`](Self::connect) with a [`Gated`] transport.
    pub async fn connect_gated(&self, departures: Option<&Departures>) -> Result<Target> {
        let (mut key, mut base_url) = if self.mock {
            // Only a key typed for this command: a real one from the environment has no
            // business with the local Spoki.
            let key = match self.api_key_source {
                KeySource::CommandLine => self.api_key.clone(),
                _ => None,
            };
            (key, None)
        } else {
            self.resolve()?
        };
        let mut mock = None;
        let mut fixtures = None;
        if self.mock {
            let local = MockSpoki::start().await;
            let f = local.fixtures();
            base_url = Some(local.url().to_owned());
            key = key.or_else(|| Some(f.client_api_key.clone().into()));
            fixtures = Some(f);
            mock = Some(local);
        }
        let client = self.client_gated(key.as_ref(), base_url.as_deref(), departures)?;
        Ok(Target {
            client,
            fixtures,
            _mock: mock,
        })
    }

    /// A client with the given key, paced and retried as the SDK's default client is (without
    /// pacing with `--no-pacing`).
    pub fn client(&self, key: Option<&SecretString>, base_url: Option<&str>) -> Result<Client> {
        self.client_gated(key, base_url, None)
    }

    /// [`client`](Self::client), with each request's departure reported to `departures`
    /// under the rate limiter, for bulk work that keeps a journal.
    pub fn client_gated(
        &self,
        key: Option<&SecretString>,
        base_url: Option<&str>,
        departures: Option<&Departures>,
    ) -> Result<Client> {
        let reqwest = ReqwestTransport::new(
            DEFAULT_CONNECT_TIMEOUT,
            DEFAULT_ATTEMPT_TIMEOUT,
            concat!("spoki-cli/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?;
        let transport: Box<dyn Transport> = match departures {
            Some(d) => Box::new(Gated::new(reqwest, d.clone())),
            None => Box::new(reqwest),
        };
        // The client's own layers, around the gate, so a departure is seen after the pacing.
        let mut builder = Client::builder()
            .transport(transport)
            .retry_policy(RetryPolicy::default());
        if !self.no_pacing {
            builder = builder.rate_limits(RateLimitConfig::default());
        }
        if let Some(key) = key {
            builder = builder.api_key(key.expose_secret());
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        Ok(builder.build()?)
    }
}
