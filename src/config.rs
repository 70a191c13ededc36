//! Settings from the environment (and `.env` when present). A bad value stops
//! the start with one line that names the variable.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tandem.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
const MIN_TOKEN_CHARS: usize = 16;

/// A value that must never reach a log line, an error or the API.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// `None`: the server makes one at start and prints it once.
    pub admin_token: Option<Secret>,
    pub clerk: ClerkConfig,
    pub sync: SyncConfig,
}

pub const DEFAULT_CLERK_API_URL: &str = "https://api.clerk.com";

/// Where Clerk is. Without a secret key the server runs the built-in emulator.
#[derive(Debug, Clone)]
pub struct ClerkConfig {
    pub secret_key: Option<Secret>,
    /// Without the `/v1`, which the client adds.
    pub api_url: String,
    /// At most this many requests per window; `None` is no limit.
    pub rate_limit: Option<RateLimit>,
    /// Svix signing secret (`whsec_…`) of the Clerk webhook endpoint.
    pub webhook_secret: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Waits before the 2nd, 3rd, ... attempt; when they run out the sync is `FAILED`.
    pub retry_schedule: Vec<Duration>,
    /// Clerk calls in flight at once.
    pub concurrency: usize,
    /// How long a claimed job stays a worker's without renewal; after a crash
    /// its jobs go to another worker once this runs out.
    pub lease: Duration,
    /// Reconcile with Clerk this often, to catch missed webhooks; `None` is never.
    pub reconcile_every: Option<Duration>,
    /// Vacuum the job table (Postgres) after this many jobs ran here.
    pub vacuum_after_jobs: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            retry_schedule: DEFAULT_RETRY_SCHEDULE.to_vec(),
            concurrency: DEFAULT_SYNC_CONCURRENCY,
            lease: DEFAULT_LEASE,
            reconcile_every: None,
            vacuum_after_jobs: DEFAULT_VACUUM_AFTER_JOBS,
        }
    }
}

/// Often enough that a claim never walks more than a few pages of finished
/// jobs; a vacuum of the small table that leaves takes milliseconds.
const DEFAULT_VACUUM_AFTER_JOBS: u64 = 1_000;

const DEFAULT_RETRY_SCHEDULE: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(900),
];
const DEFAULT_SYNC_CONCURRENCY: usize = 8;
const DEFAULT_LEASE: Duration = Duration::from_secs(15);
/// Clerk's production limit per instance.
pub const CLERK_PRODUCTION_RATE: RateLimit = RateLimit {
    requests: 1000,
    per: Duration::from_secs(10),
};

/// Parses `250ms`, `30s`, `5m`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n * 60)),
        "h" => Some(Duration::from_secs(n * 3600)),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is the user's to see.
        if let Err(error) = dotenvy::dotenv() {
            if !error.not_found() {
                return Err(ConfigError {
                    var: ".env",
                    reason: error.to_string(),
                });
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let database_url = set("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !["postgres://", "postgresql://", "sqlite:"]
            .iter()
            .any(|scheme| database_url.starts_with(scheme))
        {
            return Err(ConfigError {
                var: "DATABASE_URL",
                reason: "expected a postgres:// or sqlite: URL".into(),
            });
        }
        let bind_text = set("TANDEM_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind = bind_text.trim().parse().map_err(|_| ConfigError {
            var: "TANDEM_BIND",
            reason: format!("'{bind_text}' is not an address like 127.0.0.1:8080"),
        })?;
        let admin_token = match set("TANDEM_ADMIN_TOKEN") {
            Some(token)
                if token.chars().count() < MIN_TOKEN_CHARS || token.chars().any(char::is_whitespace) =>
            {
                return Err(ConfigError {
                    var: "TANDEM_ADMIN_TOKEN",
                    reason: format!("must be at least {MIN_TOKEN_CHARS} characters, without spaces"),
                })
            }
            token => token.map(Secret::new),
        };
        let bad = |var: &'static str, reason: String| ConfigError { var, reason };
        let secret_key = set("CLERK_SECRET_KEY").map(Secret::new);
        let api_url = set("CLERK_API_URL").unwrap_or_else(|| DEFAULT_CLERK_API_URL.into());
        if url::Url::parse(&api_url).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            return Err(bad(
                "CLERK_API_URL",
                "expected an http(s) URL such as https://api.clerk.com".into(),
            ));
        }
        let rate_limit = match set("TANDEM_CLERK_RATE_LIMIT").as_deref().map(str::trim) {
            None => Some(CLERK_PRODUCTION_RATE),
            Some("off") => None,
            Some(text) => Some(
                text.split_once('/')
                    .and_then(|(n, per)| {
                        Some(RateLimit {
                            requests: n.trim().parse().ok().filter(|n| *n > 0)?,
                            per: parse_duration(per)?,
                        })
                    })
                    .filter(|r| !r.per.is_zero())
                    .ok_or_else(|| {
                        bad(
                            "TANDEM_CLERK_RATE_LIMIT",
                            format!("'{text}' is not like 1000/10s or off"),
                        )
                    })?,
            ),
        };
        let retry_schedule = match set("TANDEM_RETRY_SCHEDULE") {
            None => DEFAULT_RETRY_SCHEDULE.to_vec(),
            Some(text) => text
                .split(',')
                .map(parse_duration)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    bad(
                        "TANDEM_RETRY_SCHEDULE",
                        format!("'{text}' is not a list like 1m,5m,15m"),
                    )
                })?,
        };
        let concurrency = match set("TANDEM_SYNC_CONCURRENCY") {
            None => DEFAULT_SYNC_CONCURRENCY,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    bad(
                        "TANDEM_SYNC_CONCURRENCY",
                        format!("'{text}' is not a number from 1 to 256"),
                    )
                })?,
        };
        let lease = match set("TANDEM_SYNC_LEASE") {
            None => DEFAULT_LEASE,
            Some(text) => parse_duration(&text)
                .filter(|d| *d >= Duration::from_millis(300))
                .ok_or_else(|| {
                    bad(
                        "TANDEM_SYNC_LEASE",
                        format!("'{text}' is not a duration of at least 300ms"),
                    )
                })?,
        };
        let webhook_secret = set("CLERK_WEBHOOK_SIGNING_SECRET").map(Secret::new);
        if let Some(secret) = &webhook_secret {
            if !secret.expose().starts_with("whsec_")
                || svix::webhooks::Webhook::new(secret.expose()).is_err()
            {
                return Err(bad(
                    "CLERK_WEBHOOK_SIGNING_SECRET",
                    "expected Clerk's whsec_… signing secret".into(),
                ));
            }
        }
        let reconcile_every = match set("TANDEM_RECONCILE_EVERY").as_deref().map(str::trim) {
            None | Some("off") => None,
            Some(text) => Some(parse_duration(text).filter(|d| !d.is_zero()).ok_or_else(|| {
                bad(
                    "TANDEM_RECONCILE_EVERY",
                    format!("'{text}' is not a duration like 1h"),
                )
            })?),
        };
        Ok(Self {
            database_url,
            bind,
            admin_token,
            clerk: ClerkConfig {
                secret_key,
                api_url,
                rate_limit,
                webhook_secret,
            },
            sync: SyncConfig {
                retry_schedule,
                concurrency,
                lease,
                reconcile_every,
                vacuum_after_jobs: DEFAULT_VACUUM_AFTER_JOBS,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_to_embedded_sqlite_on_localhost() {
        let config = with(&[]).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.bind.to_string(), DEFAULT_BIND);
        assert!(config.admin_token.is_none());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("TANDEM_BIND", "nowhere"),
            ("TANDEM_ADMIN_TOKEN", "short"),
            ("CLERK_API_URL", "ftp://x"),
            ("CLERK_WEBHOOK_SIGNING_SECRET", "nope"),
            ("TANDEM_RETRY_SCHEDULE", "1m,soon"),
            ("TANDEM_CLERK_RATE_LIMIT", "10"),
            ("TANDEM_SYNC_CONCURRENCY", "0"),
            ("TANDEM_SYNC_LEASE", "1ms"),
            ("TANDEM_RECONCILE_EVERY", "often"),
        ] {
            assert_eq!(with(&[(var, value)]).unwrap_err().var, var, "{var}={value}");
        }
    }

    #[test]
    fn sync_settings_parse() {
        let config = with(&[
            ("TANDEM_RETRY_SCHEDULE", "50ms, 1s,2m"),
            ("TANDEM_CLERK_RATE_LIMIT", "5/250ms"),
            ("TANDEM_RECONCILE_EVERY", "1h"),
        ])
        .unwrap();
        assert_eq!(
            config.sync.retry_schedule,
            [
                Duration::from_millis(50),
                Duration::from_secs(1),
                Duration::from_secs(120)
            ]
        );
        assert_eq!(
            config.clerk.rate_limit,
            Some(RateLimit {
                requests: 5,
                per: Duration::from_millis(250)
            })
        );
        assert_eq!(config.sync.reconcile_every, Some(Duration::from_secs(3600)));
        assert_eq!(
            with(&[("TANDEM_CLERK_RATE_LIMIT", "off")])
                .unwrap()
                .clerk
                .rate_limit,
            None
        );
        let defaults = with(&[]).unwrap();
        assert_eq!(defaults.sync.retry_schedule.len(), 3);
        assert_eq!(defaults.clerk.rate_limit, Some(CLERK_PRODUCTION_RATE));
        assert!(defaults.clerk.secret_key.is_none(), "no key: the emulator runs");
        assert!(defaults.sync.reconcile_every.is_none(), "off by default");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let config = with(&[
            ("TANDEM_ADMIN_TOKEN", "a-very-secret-token-value"),
            ("CLERK_SECRET_KEY", "sk_live_hush"),
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("a-very-secret"));
        assert!(!format!("{config:?}").contains("sk_live_hush"));
    }
}
