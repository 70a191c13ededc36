//! Admin auth, probes, GraphiQL, and how the binary starts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::*;
use crate::on_both_stores;

on_both_stores! {
    async fn graphql_needs_the_admin_token(app: TestApp) {
        let url = format!("{}/graphql", app.base);
        let body = json!({ "query": "{ users { totalCount } }" });
        for auth in [None, Some("Bearer wrong-token-of-some-length"), Some("Basic dGVzdA=="), Some(TOKEN)] {
            let mut request = app.client.post(&url).json(&body);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{auth:?}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
            assert!(!body.to_string().contains(TOKEN), "the token is never echoed");
        }
        let ok = app.client.post(&url).header("authorization", format!("bearer {TOKEN}")).json(&body).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let data: serde_json::Value = ok.json().await.unwrap();
        assert_eq!(data["data"]["users"]["totalCount"], 0);
    }

    async fn probes_answer_without_a_token(app: TestApp) {
        for path in ["/healthz", "/readyz"] {
            let response = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert!(response.headers().contains_key("x-request-id"), "every response has a request id");
        }
    }

    async fn graphql_over_get_is_not_served(app: TestApp) {
        let response = app
            .client
            .get(format!("{}/graphql?query=mutation{{deleteUser(id:\"x\")}}", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
    }

    async fn graphiql_is_served_from_the_binary(app: TestApp) {
        let page = app.client.get(format!("{}/graphiql", app.base)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("/graphiql/assets/graphiql.min.js"));
        assert!(!html.contains("unpkg") && !html.contains("cdn") && !html.contains("src=\"http"), "no CDN");
        for (file, kind) in [
            ("graphiql.min.js", "text/javascript"),
            ("graphiql.min.css", "text/css"),
            ("react.production.min.js", "text/javascript"),
            ("react-dom.production.min.js", "text/javascript"),
        ] {
            let asset = app.client.get(format!("{}/graphiql/assets/{file}", app.base)).send().await.unwrap();
            assert_eq!(asset.status(), 200, "{file}");
            assert_eq!(asset.headers()["content-type"], kind, "{file}");
            assert!(asset.bytes().await.unwrap().len() > 1000, "{file}");
        }
        let missing = app.client.get(format!("{}/graphiql/assets/nope.js", app.base)).send().await.unwrap();
        assert_eq!(missing.status(), 404);
    }
}

#[test]
fn a_bad_setting_stops_the_start_with_one_line_naming_it() {
    for (var, value) in [
        ("TANDEM_BIND", "not-an-address"),
        ("DATABASE_URL", "mysql://db"),
        ("TANDEM_ADMIN_TOKEN", "short"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .env_clear()
            .env(var, value)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[tokio::test]
async fn without_a_configured_token_the_server_makes_one_and_prints_it_once() {
    let storage = Storage::new(Store::Sqlite).await.unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .env_clear()
        .env("DATABASE_URL", &storage.url)
        .env("TANDEM_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while printed.len() < 4 {
        printed.push(lines.next().unwrap().unwrap().trim().to_owned());
    }
    let line = |prefix: &str| {
        printed
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix}: {printed:?}"))
            .clone()
    };
    let token = line("Tandem admin token").rsplit(' ').next().unwrap().to_owned();
    let graphiql = line("GraphiQL: ").strip_prefix("GraphiQL: ").unwrap().to_owned();
    let base = graphiql.split("/graphiql").next().unwrap().to_owned();
    assert!(graphiql.ends_with(&format!("#token={token}")));
    assert_eq!(
        line("Admin panel: "),
        format!("Admin panel: {base}/#token={token}")
    );
    assert!(
        line("Built-in Clerk emulator: ").contains("sk_test_"),
        "the emulator says how to reach it"
    );
    assert!(token.len() >= 32, "a long random token: {token}");

    let client = reqwest::Client::new();
    let query = json!({ "query": "{ users { totalCount } }" });
    let with = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&token)
        .json(&query)
        .send()
        .await
        .unwrap();
    let without = client
        .post(format!("{base}/graphql"))
        .bearer_auth("x".repeat(43))
        .json(&query)
        .send()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(with.status(), 200);
    assert_eq!(without.status(), 401);
}
