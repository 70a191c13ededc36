//! The admin panel as the server serves it: HTML at `/`, client routes falling
//! back to `index.html`, hashed assets cached for good, and the API's own paths
//! never swallowed by the fallback. Passes with or without a built panel.

use std::path::PathBuf;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use tandem::app::Application;
use tandem::config::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "spa-test-admin-token-0123456789";
const NOT_BUILT_MARK: &str = "admin panel is not built";

struct Server {
    base: String,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Server {
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("tandem_spa_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("tandem.db").display());
        let config = Config::from_lookup(|key| match key {
            "DATABASE_URL" => Some(url.clone()),
            "TANDEM_BIND" => Some("127.0.0.1:0".into()),
            "TANDEM_ADMIN_TOKEN" => Some(TOKEN.into()),
            _ => None,
        })
        .expect("a valid config");
        let app = Application::build(&config).await.expect("server starts");
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            base,
            dir,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    async fn get(&self, path: &str) -> Response {
        reqwest::get(format!("{}{path}", self.base)).await.unwrap()
    }

    async fn stop(mut self) {
        if let (Some(stop), Some(handle)) = (self.stop.take(), self.handle.take()) {
            let _ = stop.send(());
            handle.await.unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn header(response: &Response, name: reqwest::header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_root_serves_the_panel_or_the_not_built_page_as_uncached_html() {
    let server = Server::start().await;

    let response = server.get("/").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#"<div id="root">"#) || body.contains(NOT_BUILT_MARK),
        "neither the panel nor the not-built page: {body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn client_routes_fall_back_to_index_html() {
    let server = Server::start().await;
    let index = server.get("/").await.text().await.unwrap();

    for path in ["/users/abc", "/users/new", "/sign-in"] {
        let response = server.get(path).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(header(&response, CONTENT_TYPE).starts_with("text/html"), "{path}");
        assert_eq!(response.text().await.unwrap(), index, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn hashed_assets_are_cached_for_good_and_missing_ones_are_404() {
    let server = Server::start().await;
    let index = server.get("/").await.text().await.unwrap();
    let Some(script) = index
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
    else {
        assert!(
            index.contains(NOT_BUILT_MARK),
            "a built panel references its script"
        );
        eprintln!("panel not built into this binary: asset caching not checked");
        return server.stop().await;
    };

    let asset = server.get(script).await;
    let missing = server.get("/assets/index-0000000.js").await;

    assert_eq!(asset.status(), StatusCode::OK);
    assert!(header(&asset, CONTENT_TYPE).starts_with("text/javascript"));
    assert_eq!(
        header(&asset, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn the_api_paths_are_not_taken_over_by_the_panel() {
    let server = Server::start().await;
    let client = reqwest::Client::new();

    let graphql_get = client
        .get(format!("{}/graphql", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let unknown_api = server.get("/graphql/nope").await;
    let health = server.get("/healthz").await;
    let graphiql = server.get("/graphiql").await;

    assert_eq!(graphql_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(unknown_api.status(), StatusCode::NOT_FOUND);
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!header(&health, CONTENT_TYPE).starts_with("text/html"));
    assert!(graphiql.text().await.unwrap().contains("GraphiQL"));
    server.stop().await;
}
