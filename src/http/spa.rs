//! The admin panel: the Vite build of `frontend/`, embedded at compile time
//! (see `build.rs`). Unknown paths get `index.html` so the panel's own router
//! can answer them; a binary built without the panel explains how to get it.

use axum::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};

/// `build.rs` sets `TANDEM_PANEL_DIR` to the panel's build; left unset, this
/// embeds nothing and `/` explains how to get the panel.
#[derive(RustEmbed)]
#[folder = "$TANDEM_PANEL_DIR"]
#[allow_missing = true]
struct Panel;

/// Server paths that must never turn into the panel: a typo there should fail loudly.
const SERVER_PATHS: &[&str] = &["/graphql", "/graphiql", "/healthz", "/readyz", "/metrics"];

/// Vite names these after their content, so they can be kept forever.
const HASHED: &str = "public, max-age=31536000, immutable";
/// Names that stay the same across builds: always ask whether they changed.
const REVALIDATE: &str = "no-cache";

/// What `/` shows when this binary was built without the panel.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Tandem · admin panel not built</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #212529; }
    code, pre { background: #f1f3f5; border-radius: 4px; padding: 0 .25em; }
    pre { padding: .75em 1em; overflow-x: auto; }
  </style>
</head>
<body>
  <main>
    <h1>The admin panel is not built into this binary</h1>
    <p>Tandem is running and its API works: <a href="/graphiql">GraphiQL</a>, <code>POST /graphql</code>,
       <code>/healthz</code>. Only the panel is missing, because npm was not found when this binary was compiled,
       the panel's build failed, or <code>TANDEM_SKIP_FRONTEND=1</code> was set. The compiler's
       <code>warning:</code> lines say which.</p>
    <p>To get it, install Node.js 20.19 or newer (with npm) and build again; the build compiles
       <code>frontend/</code> and embeds it:</p>
    <pre>cargo build</pre>
    <p>Or build the panel by hand first:</p>
    <pre>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; cargo build</pre>
  </main>
</body>
</html>
"#;

pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(ALLOW, "GET, HEAD")]).into_response();
    }
    let path = uri.path();
    if SERVER_PATHS
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(index) = Panel::get("index.html") else {
        return not_built();
    };
    let name = path.trim_start_matches('/');
    if name.starts_with("assets/") {
        // A missing hashed file is a stale page asking for an old build: 404, not HTML.
        return match Panel::get(name) {
            Some(file) => file_response(&file, HASHED, &headers),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    match Panel::get(name) {
        Some(file) => file_response(&file, REVALIDATE, &headers),
        None => file_response(&index, REVALIDATE, &headers),
    }
}

fn file_response(file: &EmbeddedFile, cache: &'static str, request: &HeaderMap) -> Response {
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let headers = [
        (CONTENT_TYPE, content_type(file.metadata.mimetype())),
        (CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            ETAG,
            HeaderValue::from_str(&etag).expect("hex is a valid header value"),
        ),
    ];
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, file.data.clone()).into_response()
}

/// Vite writes UTF-8; saying so keeps browsers from guessing.
fn content_type(mime: &str) -> HeaderValue {
    let textual = mime.starts_with("text/") || mime.ends_with("javascript") || mime.ends_with("json");
    let value = if textual {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn not_built() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, REVALIDATE),
        ],
        NOT_BUILT,
    )
        .into_response()
}
