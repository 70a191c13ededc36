//! The processes under test: the `tandem` server and the Clerk emulator, each
//! started from the release binary as a user would start them.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::client::Api;

/// The `tandem` binary beside this one, built first when the bench was
/// started by `cargo run` (which builds only the bench itself).
pub fn tandem_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the bench binary has no folder")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--bin", "tandem"]);
        // `cargo run` hands the bench its own package's variables. A build that
        // inherits them sees them as changed for build scripts that watch them
        // (ring watches CARGO_MANIFEST_DIR) and recompiles half the tree.
        for (name, _) in std::env::vars_os() {
            let run_only = name.to_str().is_some_and(|name| {
                name.starts_with("CARGO_PKG_")
                    || matches!(
                        name,
                        "CARGO_MANIFEST_DIR"
                            | "CARGO_MANIFEST_PATH"
                            | "CARGO_CRATE_NAME"
                            | "CARGO_BIN_NAME"
                            | "CARGO_PRIMARY_PACKAGE"
                            | "OUT_DIR"
                    )
            });
            if run_only {
                build.env_remove(name);
            }
        }
        if dir.file_name().is_some_and(|d| d == "release") {
            build.arg("--release");
        }
        let status = build.status().context("cannot run cargo to build tandem")?;
        if !status.success() {
            bail!("cargo could not build the tandem binary");
        }
    }
    let bin = dir.join("tandem");
    if !bin.exists() {
        bail!("{} is missing: run `cargo build --release` first", bin.display());
    }
    Ok(bin)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<(Stdio, Stdio)> {
    let file = File::create(dir.join(name))?;
    Ok((file.try_clone()?.into(), file.into()))
}

/// Sends SIGTERM so the process stops as in production, and waits.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub struct Emulator {
    child: Child,
    pub url: String,
    pub key: String,
    http: reqwest::Client,
}

impl Emulator {
    pub async fn start(bin: &Path, logs: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let key = "sk_test_bench".to_string();
        let (out, err) = log_file(logs, "clerk-emulator.log")?;
        let child = Command::new(bin)
            .args(["clerk-emulator", "--bind", &format!("127.0.0.1:{port}")])
            .env("CLERK_SECRET_KEY", &key)
            .env("RUST_LOG", "warn")
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("cannot start the Clerk emulator")?;
        let emulator = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            key,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while emulator
            .control(reqwest::Method::GET, "requests", None)
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!(
                    "the Clerk emulator did not start; see its log in {}",
                    logs.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(emulator)
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}/_emulator/{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?.error_for_status()?;
        let text = response.text().await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every Backend API call from now on waits this long before it is answered.
    pub async fn set_latency(&self, ms: u64) -> anyhow::Result<()> {
        self.control(
            reqwest::Method::POST,
            "faults",
            Some(json!({"kind": "latency", "ms": ms})),
        )
        .await
        .map(drop)
    }

    /// Sends a signed webhook of every later change to `url`, as Clerk does.
    pub async fn deliver_webhooks(&self, url: &str, secret: &str) -> anyhow::Result<()> {
        let target = json!({"url": url, "secret": secret});
        self.control(reqwest::Method::POST, "webhooks", Some(target))
            .await
            .map(drop)
    }

    pub async fn stop_webhooks(&self) -> anyhow::Result<()> {
        self.control(reqwest::Method::DELETE, "webhooks", None)
            .await
            .map(drop)
    }

    /// Webhook deliveries answered with a 2xx so far.
    pub async fn webhooks_delivered(&self) -> anyhow::Result<usize> {
        let summary = self
            .control(reqwest::Method::GET, "webhooks/summary", None)
            .await?;
        let delivered = summary["delivered"]
            .as_u64()
            .context("the webhook summary has no count")?;
        Ok(delivered as usize)
    }

    pub async fn clear_requests(&self) -> anyhow::Result<()> {
        self.control(reqwest::Method::DELETE, "requests", None)
            .await
            .map(drop)
    }

    /// Arrival times (ms since the epoch) of the Backend API calls logged since the last clear.
    pub async fn request_times(&self) -> anyhow::Result<Vec<i64>> {
        let log = self.control(reqwest::Method::GET, "requests", None).await?;
        let mut times: Vec<i64> = log
            .as_array()
            .context("the request log is not a list")?
            .iter()
            .filter_map(|call| call["at_ms"].as_i64())
            .collect();
        times.sort_unstable();
        Ok(times)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Resident memory of a process, in MiB.
#[derive(Clone, Copy)]
pub struct Rss {
    pub now: f64,
    pub peak: f64,
}

pub struct Server {
    child: Child,
    pub api: Api,
    /// From spawning the process to answering a list query.
    pub ready_in: Duration,
}

/// What every server in a run shares.
pub struct ServerSetup<'a> {
    pub bin: &'a Path,
    pub logs: &'a Path,
    pub database_url: &'a str,
    pub emulator: &'a Emulator,
    pub webhook_secret: &'a str,
    pub admin_token: &'a str,
}

impl Server {
    /// Starts `tandem serve` and waits until it answers `/readyz` and a list query.
    pub async fn start(setup: &ServerSetup<'_>, name: &str, env: &[(&str, String)]) -> anyhow::Result<Self> {
        let port = free_port()?;
        let (out, err) = log_file(setup.logs, &format!("{name}.log"))?;
        let spawned = Instant::now();
        let child = Command::new(setup.bin)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", setup.database_url)
            .env("TANDEM_BIND", format!("127.0.0.1:{port}"))
            .env("TANDEM_ADMIN_TOKEN", setup.admin_token)
            .env("CLERK_SECRET_KEY", &setup.emulator.key)
            .env("CLERK_API_URL", &setup.emulator.url)
            .env("CLERK_WEBHOOK_SIGNING_SECRET", setup.webhook_secret)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("cannot start tandem")?;
        let base = format!("http://127.0.0.1:{port}");
        let api = Api::new(&base, setup.admin_token);
        let mut server = Self {
            child,
            api,
            ready_in: Duration::ZERO,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!(
                    "tandem exited at start ({status}); see {}/{name}.log",
                    setup.logs.display()
                );
            }
            if server.api.ready().await
                && server
                    .api
                    .query("{ users(first: 1) { totalCount } }", json!({}))
                    .await
                    .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "tandem did not become ready; see {}/{name}.log",
                    setup.logs.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.ready_in = spawned.elapsed();
        Ok(server)
    }

    pub fn rss(&self) -> anyhow::Result<Rss> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> anyhow::Result<f64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in /proc status"))?;
            let kib: f64 = line.split_whitespace().nth(1).unwrap_or("0").parse()?;
            Ok(kib / 1024.0)
        };
        Ok(Rss {
            now: field("VmRSS:")?,
            peak: field("VmHWM:")?,
        })
    }

    pub fn stop(mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `tandem migrate`, so the tables exist before seeding.
pub fn migrate(bin: &Path, database_url: &str) -> anyhow::Result<()> {
    let output = Command::new(bin)
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .output()
        .context("cannot run tandem migrate")?;
    if !output.status.success() {
        bail!(
            "tandem migrate failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Runs `tandem replay` and returns how many events it replayed and how long the command took.
pub fn replay(bin: &Path, database_url: &str) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let output = Command::new(bin)
        .arg("replay")
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .context("cannot run tandem replay")?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "tandem replay failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let events = stdout
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok())
        .sum();
    Ok((events, elapsed))
}

/// CPU time used so far, in seconds, by Tandem, by Postgres (all its
/// processes), by the emulator, and by this bench.
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub tandem: f64,
    pub postgres: f64,
    pub emulator: f64,
    pub bench: f64,
}

impl Cpu {
    /// Reads `/proc/<pid>/stat` of every process (clock ticks of 10 ms, as on every Linux we run on).
    pub fn now(server: Option<&Server>, emulator: &Emulator) -> Self {
        let mut cpu = Self::default();
        let own = std::process::id();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return cpu;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command sits in parentheses and may hold spaces; the fields after it are plain.
            let Some((head, tail)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let ticks: f64 = fields
                .get(11..13)
                .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
            let seconds = ticks / 100.0;
            if server.is_some_and(|server| pid == server.child.id()) {
                cpu.tandem += seconds;
            } else if pid == emulator.child.id() {
                cpu.emulator += seconds;
            } else if pid == own {
                cpu.bench += seconds;
            } else if head.ends_with("(postgres") {
                cpu.postgres += seconds;
            }
        }
        cpu
    }

    pub fn since(self, start: Self) -> Self {
        Self {
            tandem: self.tandem - start.tandem,
            postgres: self.postgres - start.postgres,
            emulator: self.emulator - start.emulator,
            bench: self.bench - start.bench,
        }
    }
}
