//! A fresh, empty database for each part of the run: a SQLite file in the
//! bench folder, or a new database on the Postgres server.

use std::path::Path;

use anyhow::Context;
use sqlx::Connection;

use crate::Store;

pub struct BenchDb {
    pub url: String,
    /// The Postgres server's own URL and this database's name, to drop it after.
    postgres: Option<(String, String)>,
    /// The SQLite file, to remove after.
    file: Option<std::path::PathBuf>,
}

impl BenchDb {
    pub async fn create(store: Store, postgres_url: &str, dir: &Path, name: &str) -> anyhow::Result<Self> {
        match store {
            Store::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(dir.join(format!("{name}.db{suffix}")));
                }
                let path = dir.canonicalize()?.join(format!("{name}.db"));
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    postgres: None,
                    file: Some(path),
                })
            }
            Store::Postgres => {
                let mut admin = sqlx::PgConnection::connect(postgres_url)
                    .await
                    .context("cannot reach Postgres at --postgres-url")?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let mut url = url::Url::parse(postgres_url)?;
                url.set_path(&format!("/{name}"));
                Ok(Self {
                    url: url.to_string(),
                    postgres: Some((postgres_url.to_string(), name.to_string())),
                    file: None,
                })
            }
        }
    }

    /// True when this is a Postgres server whose autovacuum is off, as on CI
    /// servers tuned for short tests.
    pub async fn lacks_autovacuum(&self) -> anyhow::Result<bool> {
        if self.postgres.is_none() {
            return Ok(false);
        }
        let mut conn = sqlx::PgConnection::connect(&self.url).await?;
        let setting: String = sqlx::query_scalar("SHOW autovacuum").fetch_one(&mut conn).await?;
        Ok(setting == "off")
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        if let Some((server, name)) = self.postgres {
            let mut admin = sqlx::PgConnection::connect(&server).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}
