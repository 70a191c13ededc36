//! Rebuild when migrations or the embedded GraphiQL assets change, and build
//! the admin panel (`frontend/`) so that `cargo run` serves it on a fresh
//! clone. Without npm, or when its build fails, the binary embeds no panel and
//! serves a "panel not built" page instead; the API works either way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// What the panel's build output depends on, relative to the crate root.
const PANEL_INPUTS: &[&str] = &[
    "frontend/src",
    "frontend/public",
    "frontend/index.html",
    "frontend/package.json",
    "frontend/package-lock.json",
    "frontend/vite.config.ts",
    "frontend/codegen.ts",
    "frontend/tsconfig.json",
    "schema.graphql",
];

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=assets");
    for input in PANEL_INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=TANDEM_SKIP_FRONTEND");

    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    match panel(&root) {
        Ok(dist) => println!("cargo:rustc-env=TANDEM_PANEL_DIR={}", dist.display()),
        // Left unset, `src/http/spa.rs` embeds nothing and serves the not-built page.
        Err(why) => {
            for line in why.lines() {
                println!("cargo:warning={line}");
            }
        }
    }
}

/// The folder to embed: `frontend/dist`, built now when it is older than its sources.
fn panel(root: &Path) -> Result<PathBuf, String> {
    let frontend = root.join("frontend");
    let dist = frontend.join("dist");
    let built = modified(&dist.join("index.html"));
    let sources = PANEL_INPUTS.iter().filter_map(|p| newest(&root.join(p))).max();
    if built.is_some() && built >= sources {
        return Ok(dist);
    }
    if std::env::var_os("TANDEM_SKIP_FRONTEND").is_some_and(|v| v == "1") {
        return Err("admin panel not built: TANDEM_SKIP_FRONTEND=1 (the API works; / explains)".into());
    }
    if !frontend.join("package.json").exists() {
        return Err("admin panel not built: frontend/ is missing".into());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return Err(
            "admin panel not built: npm is not on PATH. Install Node.js 20.19+ and rebuild to serve it at /"
                .into(),
        );
    }
    let installed = modified(&frontend.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&frontend.join("package-lock.json")) {
        npm(&frontend, &["ci", "--no-audit", "--no-fund"])?;
    }
    npm(&frontend, &["run", "build"])?;
    Ok(dist)
}

fn npm(dir: &Path, args: &[&str]) -> Result<(), String> {
    let command = format!("npm {}", args.join(" "));
    let output = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("admin panel not built: `{command}` did not start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    // The end of the log is where npm, tsc and vite say what went wrong.
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Err(format!(
        "admin panel not built: `{command}` in frontend/ failed ({}); its last lines:\n{tail}",
        output.status
    ))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The latest change to a file, or to anything in a folder.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| newest(&entry.path()))
        .chain(meta.modified().ok())
        .max()
}
