//! Tandem's HTTP API as an admin client sees it.

use std::time::Duration;

use anyhow::{bail, Context};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// Where the server listens, e.g. `http://127.0.0.1:8080`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn new(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a plain HTTP client builds");
        Self {
            http,
            base: base.to_string(),
            token: token.to_string(),
        }
    }

    pub async fn ready(&self) -> bool {
        match self.http.get(format!("{}/readyz", self.base)).send().await {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    }

    /// Runs one GraphQL operation; any error in the answer is an error here.
    pub async fn query(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.with_context(|| format!("HTTP {status}"))?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        if !status.is_success() {
            bail!("HTTP {status}: {body}");
        }
        Ok(body["data"].clone())
    }

    /// Runs [`LIST_QUERY`] and counts the users on the page. The answer is
    /// checked without being built into a tree: the bench shares the CPU with
    /// the server, and the plain-SQL baseline it is compared with does not
    /// decode its rows either.
    pub async fn list(&self, search: &str) -> anyhow::Result<usize> {
        #[derive(Deserialize)]
        struct Answer {
            data: Option<Data>,
            errors: Option<IgnoredAny>,
        }
        #[derive(Deserialize)]
        struct Data {
            users: Users,
        }
        #[derive(Deserialize)]
        struct Users {
            nodes: Vec<IgnoredAny>,
        }
        let response = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "query": LIST_QUERY, "variables": { "search": search } }))
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let answer: Answer = serde_json::from_slice(&body).with_context(|| format!("HTTP {status}"))?;
        match (status.is_success(), answer.errors, answer.data) {
            (true, None, Some(data)) => Ok(data.users.nodes.len()),
            _ => bail!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Posts a signed webhook as Clerk would; 2xx is success.
    pub async fn webhook(&self, headers: [(&'static str, String); 3], body: String) -> anyhow::Result<()> {
        let mut request = self
            .http
            .post(format!("{}/webhooks/clerk", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status();
        if !status.is_success() {
            bail!(
                "webhook answered {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    pub async fn create_user(&self, input: Value) -> anyhow::Result<String> {
        let data = self
            .query(
                "mutation($input: CreateUserInput!) { createUser(input: $input) { id version } }",
                json!({ "input": input }),
            )
            .await?;
        data["createUser"]["id"]
            .as_str()
            .map(str::to_string)
            .context("createUser answered no id")
    }

    pub async fn update_user(&self, id: &str, input: Value) -> anyhow::Result<()> {
        self.query(
            "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id version } }",
            json!({ "id": id, "input": input }),
        )
        .await
        .map(drop)
    }

    /// Users per sync status, and whether sync is paused.
    pub async fn sync_overview(&self) -> anyhow::Result<Value> {
        let data = self
            .query("{ syncOverview { synced pending failed paused } }", json!({}))
            .await?;
        Ok(data["syncOverview"].clone())
    }

    pub async fn pause_sync(&self, paused: bool) -> anyhow::Result<()> {
        let mutation = if paused {
            "mutation { pauseClerkSync { paused } }"
        } else {
            "mutation { resumeClerkSync { paused } }"
        };
        self.query(mutation, json!({})).await.map(drop)
    }

    /// When the user's first sync report was stored, as RFC 3339.
    pub async fn first_synced_at(&self, id: &str) -> anyhow::Result<Option<String>> {
        let data = self
            .query(
                "query($id: ID!) { user(id: $id) { history { type occurredAt } } }",
                json!({ "id": id }),
            )
            .await?;
        let history = data["user"]["history"].as_array().context("no history")?;
        Ok(history
            .iter()
            .find(|entry| entry["type"] == "ClerkSynced")
            .and_then(|entry| entry["occurredAt"].as_str())
            .map(str::to_string))
    }

    /// Waits until no user is pending; fails on a failed user.
    pub async fn wait_all_synced(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let overview = self.sync_overview().await?;
            if overview["failed"].as_i64() != Some(0) {
                bail!("users failed to sync: {overview}");
            }
            if overview["pending"].as_i64() == Some(0) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("users still pending after {limit:?}: {overview}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The list an admin opens most: a search, a status filter, newest first, one page.
const LIST_QUERY: &str = "query($search: String) {
  users(search: $search, syncStatus: SYNCED, orderBy: {field: CREATED_AT, direction: DESC}, first: 50) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id email username firstName lastName displayName roles syncStatus syncError nextRetryAt createdAt updatedAt }
  }
}";
