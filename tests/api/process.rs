//! Real `tandem` processes, for what only a process can show: kill -9,
//! SIGTERM, and the binary's own start-up.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TOKEN;

pub struct Process {
    child: Child,
    pub base: String,
}

impl Process {
    /// Starts `tandem serve` on a free port with the admin token and `env`.
    pub fn start(database_url: &str, env: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("TANDEM_BIND", format!("127.0.0.1:{port}"))
            .env("TANDEM_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        Self {
            child: command.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn ready(&self, client: &reqwest::Client) {
        // Generous: a debug build starting while the whole suite runs on 2 cores.
        for _ in 0..600 {
            if client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tandem did not become ready");
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits up to 5 s for the process to exit on its own.
    pub async fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GraphQL call to any server; `None` when it gave no readable answer.
pub async fn gql_at(client: &reqwest::Client, base: &str, query: &str, variables: Value) -> Option<Value> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// Waits until the user is `SYNCED` on that server; returns the last status seen.
pub async fn until_synced_at(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let mut status = Value::Null;
    for _ in 0..400 {
        let body = gql_at(
            client,
            base,
            "query($id: ID!) { user(id: $id) { syncStatus } }",
            json!({ "id": id }),
        )
        .await;
        status = body.map_or(Value::Null, |b| b["data"]["user"]["syncStatus"].clone());
        if status == "SYNCED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    status
}
