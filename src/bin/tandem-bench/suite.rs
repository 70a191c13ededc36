//! The run, item by item as the benchmark issue lists them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::baseline;
use crate::client::Api;
use crate::database::BenchDb;
use crate::load::{closed_loop, percentile, Stats, Until};
use crate::processes::{self, Cpu, Emulator, Server, ServerSetup};
use crate::report::{rate, Goal, Report};
use crate::seed;
use crate::{Args, Store};

/// Ids of created users, each with the time its create was sent.
type Created = Arc<Mutex<Vec<(String, DateTime<Utc>)>>>;

/// Sizes of one run.
struct Scale {
    /// Length of each timed load.
    run: Duration,
    small_users: u64,
    large_users: u64,
    events_per_user: usize,
    /// Users pushed to Clerk per outbound measurement.
    sync_users: u64,
    /// The limiter setting for the "limiter on" measurement, its window and its cap.
    limit: (&'static str, i64, usize),
    limited_users: u64,
    /// Users whose create-to-SYNCED time is measured.
    latency_users: u64,
}

const FULL: Scale = Scale {
    run: Duration::from_secs(8),
    small_users: 10_000,
    large_users: 100_000,
    events_per_user: 10,
    sync_users: 1_500,
    // Clerk's production limit, which is also Tandem's default.
    limit: ("1000/10s", 10_000, 1_000),
    limited_users: 2_500,
    latency_users: 300,
};

const SMOKE: Scale = Scale {
    run: Duration::from_millis(700),
    small_users: 100,
    large_users: 300,
    events_per_user: 10,
    sync_users: 40,
    limit: ("20/1s", 1_000, 20),
    limited_users: 50,
    latency_users: 10,
};

const CONCURRENCY: [usize; 3] = [1, 16, 64];
/// The outbound worker's concurrency during the bench (Tandem's default).
const SYNC_CONCURRENCY: u64 = 8;
const ADMIN_TOKEN: &str = "bench-admin-token";
const WEBHOOK_SECRET: &str = "whsec_YmVuY2gtd2ViaG9vay1zaWduaW5nLXNlY3JldA==";

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let scale = if args.smoke { &SMOKE } else { &FULL };
    let store_name = match args.store {
        Store::Sqlite => "sqlite",
        Store::Postgres => "postgres",
    };
    let bin = processes::tandem_binary()?;
    let dir = std::path::Path::new("target/bench").join(store_name);
    std::fs::create_dir_all(&dir)?;
    let out = args.out.clone().unwrap_or_else(|| dir.with_extension("md"));

    let mut report = Report::new(format!("Tandem on {store_name}"));
    report.note(machine());
    report.note(format!(
        "{} runs of {:?} each; list at {} and {} users seeded with {} events each; server and bench share the machine",
        if args.smoke { "Smoke:" } else { "Closed-loop" },
        scale.run,
        scale.small_users,
        scale.large_users,
        scale.events_per_user
    ));

    report.note("The emulator sends no webhooks back, except in the row of item 2 that says so: items 2, 3 and 6 measure Tandem's own work, item 5 measures webhook ingest alone");
    report.note(
        "Between runs the bench waits until every user is SYNCED, so no run inherits another's sync backlog",
    );
    let emulator = Emulator::start(&bin, &dir).await?;
    let db = BenchDb::create(args.store, &args.postgres_url, &dir, "tandem_bench_api").await?;
    if db.lacks_autovacuum().await? {
        report.note("This Postgres server runs with autovacuum off: nothing gathers planner statistics or clears dead rows during the run, except the sync job table's own upkeep");
    }
    let setup = ServerSetup {
        bin: &bin,
        logs: &dir,
        database_url: &db.url,
        emulator: &emulator,
        webhook_secret: WEBHOOK_SECRET,
        admin_token: ADMIN_TOKEN,
    };

    step("1 raw INSERT baseline");
    let (raw, raw_cpu) = raw_baseline(&db.url, scale, &emulator).await?;
    for c in CONCURRENCY {
        report.throughput(
            "1",
            &format!("raw INSERT tx, c={c}"),
            &raw[&c],
            "tx",
            None,
            Goal::None,
        );
    }
    report.figure(
        "1",
        "CPU per raw INSERT tx, c=16",
        0.0,
        cpu_per_request(raw_cpu, raw[&16].ok),
        String::new(),
        Goal::None,
    );

    // The limiter would hold the sync backlog each run leaves at Clerk's 100 calls/s, and
    // settling between runs would take minutes; item 6 measures it.
    let unlimited = [("TANDEM_CLERK_RATE_LIMIT", "off".to_string())];
    let server = Server::start(&setup, "server-api", &unlimited).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = server.rss()?;

    step("2 createUser");
    let sent_at: Created = Arc::default();
    let mut updatable = Vec::new();
    for c in CONCURRENCY {
        let ids: Created = Arc::default();
        let cpu = Cpu::now(Some(&server), &emulator);
        let stats = create_users(
            &server.api,
            c,
            Until::Elapsed(scale.run),
            &format!("c{c}"),
            ids.clone(),
        )
        .await;
        let cpu = Cpu::now(Some(&server), &emulator).since(cpu);
        settle(&server.api).await?;
        if c == 16 {
            report.figure(
                "2",
                "CPU per createUser, c=16 (with the sync work it causes meanwhile)",
                0.0,
                cpu_per_request(cpu, stats.ok),
                String::new(),
                Goal::None,
            );
        }
        let target = (c == 16 && args.store == Store::Postgres).then_some(15.0);
        report.throughput(
            "2",
            &format!("createUser, c={c}"),
            &stats,
            "req",
            Some(&raw[&c]),
            ratio_goal(c == 16 && args.store == Store::Postgres, 0.25),
        );
        report.latency(
            "2",
            &format!("createUser p50 / p99, c={c}"),
            &stats,
            Some(&raw[&c]),
            target,
        );
        let ids = std::mem::take(&mut *ids.lock().unwrap());
        if c == 1 {
            *sent_at.lock().unwrap() = ids.iter().take(scale.latency_users as usize).cloned().collect();
        }
        updatable.extend(ids.into_iter().map(|(id, _)| id));
    }
    let loaded = server.rss()?;

    step("2 where a create's CPU goes");
    let floor_cpu = Cpu::now(Some(&server), &emulator);
    let floor = graphql_floor(&server.api, Until::Elapsed(scale.run)).await;
    let floor_cpu = Cpu::now(Some(&server), &emulator).since(floor_cpu);
    report.throughput(
        "2",
        "GraphQL floor: `{ __typename }` over HTTP, c=16",
        &floor,
        "req",
        Some(&raw[&16]),
        Goal::None,
    );
    report.figure(
        "2",
        "CPU per `{ __typename }`, c=16",
        0.0,
        cpu_per_request(floor_cpu, floor.ok),
        String::new(),
        Goal::None,
    );
    let split = create_then_sync(&server.api, &emulator, &server, scale).await?;
    report.throughput(
        "2",
        "createUser with sync paused (the write path alone), c=16",
        &split.creates,
        "req",
        Some(&raw[&16]),
        Goal::None,
    );
    report.figure(
        "2",
        "CPU per createUser with sync paused, c=16",
        0.0,
        cpu_per_request(split.create_cpu, split.creates.ok),
        String::new(),
        Goal::None,
    );
    report.figure(
        "2",
        "CPU per user synced once sync resumes (Clerk latency 0 ms)",
        0.0,
        cpu_per_request(split.sync_cpu, split.creates.ok),
        String::new(),
        Goal::None,
    );
    report.figure(
        "2",
        "CPU per user synced, with Clerk's webhook of each push coming back (Clerk latency 0 ms)",
        0.0,
        cpu_per_request(split.echo_cpu, split.echoed),
        String::new(),
        Goal::None,
    );

    step("3 updateUser");
    let updatable = Arc::new(updatable);
    for (field, clerk) in [("Clerk field (firstName)", true), ("local field (bio)", false)] {
        for c in CONCURRENCY {
            let ids = updatable.clone();
            let api = server.api.clone();
            let stats = closed_loop(c, Until::Elapsed(scale.run), move |i| {
                let api = api.clone();
                let id = ids[i as usize % ids.len()].clone();
                let input = if clerk {
                    json!({"firstName": format!("Ada{i}")})
                } else {
                    json!({"bio": format!("Bio {i}")})
                };
                async move { api.update_user(&id, input).await }
            })
            .await;
            settle(&server.api).await?;
            report.throughput(
                "3",
                &format!("updateUser {field}, c={c}"),
                &stats,
                "req",
                Some(&raw[&c]),
                Goal::None,
            );
            report.latency(
                "3",
                &format!("updateUser {field} p50 / p99, c={c}"),
                &stats,
                Some(&raw[&c]),
                None,
            );
        }
    }

    step("5 webhook ingest");
    let cpu = Cpu::now(Some(&server), &emulator);
    let stats = webhooks(&server.api, Until::Elapsed(scale.run)).await?;
    let cpu = Cpu::now(Some(&server), &emulator).since(cpu);
    report.throughput(
        "5",
        "webhook user.created (signed, verified, deduplicated, applied), c=16",
        &stats,
        "req",
        Some(&raw[&16]),
        Goal::RatioAtLeast(0.25),
    );
    report.latency("5", "webhook p50 / p99, c=16", &stats, Some(&raw[&16]), None);
    report.figure(
        "5",
        "CPU per webhook, c=16",
        0.0,
        cpu_per_request(cpu, stats.ok),
        String::new(),
        Goal::None,
    );

    step("6 createUser to SYNCED");
    let sent_at = std::mem::take(&mut *sent_at.lock().unwrap());
    let to_synced = synced_latencies(&server.api, &sent_at).await?;
    report.figure(
        "6",
        "createUser → SYNCED p50 / p99 (c=1, Clerk latency 0 ms)",
        to_synced.1,
        format!("{:.1} / {:.1} ms", to_synced.0, to_synced.1),
        String::new(),
        Goal::None,
    );
    server.stop();

    step("6 outbound sync throughput");
    let server = Server::start(&setup, "server-sync", &unlimited).await?;
    for latency in [0, 50] {
        let (per_sec, calls) = outbound(&server.api, &emulator, scale.sync_users, latency).await?;
        let goal = if latency > 0 {
            let allowed = SYNC_CONCURRENCY as f64 * 1000.0 / latency as f64;
            Goal::AtLeast(0.8 * allowed)
        } else {
            Goal::None
        };
        report.figure(
            "6",
            &format!("users synced, Clerk latency {latency} ms, limiter off ({calls} Clerk calls)"),
            per_sec,
            rate(per_sec, "users"),
            if latency > 0 {
                format!(
                    "{} allowed (8 workers ÷ {latency} ms)",
                    rate(SYNC_CONCURRENCY as f64 * 1000.0 / latency as f64, "users")
                )
            } else {
                String::new()
            },
            goal,
        );
    }
    emulator.set_latency(0).await?;
    server.stop();

    let (limit, window_ms, cap) = scale.limit;
    let limited = [("TANDEM_CLERK_RATE_LIMIT", limit.to_string())];
    let server = Server::start(&setup, "server-limited", &limited).await?;
    let (per_sec, _) = outbound(&server.api, &emulator, scale.limited_users, 0).await?;
    let busiest = busiest_window(&emulator.request_times().await?, window_ms);
    report.figure(
        "6",
        &format!("users synced, Clerk latency 0 ms, limiter on ({limit})"),
        per_sec,
        rate(per_sec, "users"),
        String::new(),
        Goal::None,
    );
    report.figure(
        "6",
        &format!("most Clerk calls in any {window_ms} ms window, limiter on"),
        busiest as f64,
        format!("{busiest} calls"),
        format!("limit {cap}"),
        Goal::AtMost(cap as f64),
    );
    server.stop();

    if args.write_path {
        report.note(
            "Write path only (--write-path): items 4, 7 and the RSS with 100,000 users were not measured",
        );
    } else {
        step("4/7 seeding");
        let seeded = BenchDb::create(args.store, &args.postgres_url, &dir, "tandem_bench_seeded").await?;
        let setup = ServerSetup {
            database_url: &seeded.url,
            ..setup
        };
        processes::migrate(&bin, &seeded.url)?;
        let mut seeded_events = 0;
        let mut seeding = Duration::ZERO;
        for (stage, users) in [(0, scale.small_users), (scale.small_users, scale.large_users)] {
            let started = Instant::now();
            let db = baseline::pool(&seeded.url, 2).await?;
            seeded_events += seed::users(&db, stage, users, scale.events_per_user).await?;
            seed::saga_starts_after_seed(&db).await?;
            seed::vacuum(&db).await?;
            db.close().await;
            seeding += started.elapsed();

            step(&format!("7 replay of {seeded_events} events"));
            let (replayed, took) = processes::replay(&bin, &seeded.url)?;
            if replayed != seeded_events {
                bail!("replay applied {replayed} events, the store holds {seeded_events}");
            }
            let per_sec = replayed as f64 / took.as_secs_f64();
            let big = users == scale.large_users;
            report.figure(
                "7",
                &format!(
                    "tandem replay, {replayed} events ({users} users), whole command {:.1} s",
                    took.as_secs_f64()
                ),
                per_sec,
                rate(per_sec, "events"),
                String::new(),
                if big { Goal::AtLeast(50_000.0) } else { Goal::None },
            );

            step(&format!("4 list at {users} users"));
            let server = Server::start(&setup, &format!("server-{users}"), &[]).await?;
            if big {
                report.figure(
                    "7",
                    &format!("start to ready with {users} users ({seeded_events} events)"),
                    server.ready_in.as_secs_f64() * 1000.0,
                    format!("{:.0} ms", server.ready_in.as_secs_f64() * 1000.0),
                    String::new(),
                    Goal::AtMost(1000.0),
                );
            }
            let terms: Arc<Vec<String>> = Arc::new(
                (0..seed::surname_count())
                    .map(|k| seed::surname(k).to_lowercase())
                    .collect(),
            );
            let cpu = Cpu::now(Some(&server), &emulator);
            let list = list_users(&server.api, Until::Elapsed(scale.run), terms.clone()).await;
            let list_cpu = Cpu::now(Some(&server), &emulator).since(cpu);
            let (plain, plain_cpu) =
                baseline::plain_list(&seeded.url, 16, Until::Elapsed(scale.run), terms, &emulator).await?;
            report.throughput(
                "4",
                &format!("users list (search + status + sort, first 50, totalCount) at {users} users, c=16"),
                &list,
                "req",
                None,
                Goal::None,
            );
            report.figure(
                "4",
                &format!("users list at {users} users vs plain SQL (page + count), c=16"),
                list.per_sec() / plain.per_sec(),
                rate(list.per_sec(), "req"),
                rate(plain.per_sec(), "queries"),
                if big { Goal::AtLeast(0.5) } else { Goal::None },
            );
            report.figure(
                "4",
                &format!("CPU per list at {users} users, c=16: through Tandem / as plain SQL"),
                0.0,
                cpu_per_request(list_cpu, list.ok),
                cpu_per_request(plain_cpu, plain.ok),
                Goal::None,
            );
            report.latency(
                "4",
                &format!("users list p50 / p99 at {users} users, c=16"),
                &list,
                Some(&plain),
                big.then_some(10.0),
            );
            if big {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let rss = server.rss()?;
                report.figure(
                    "8",
                    &format!("RSS idle with {users} users"),
                    rss.now,
                    format!("{:.1} MiB", rss.now),
                    String::new(),
                    Goal::AtMost(30.0),
                );
            }
            server.stop();
        }
        report.note(format!(
            "Seeding {seeded_events} events for {} users through batched inserts into the event store, then VACUUM ANALYZE, took {:.1} s",
            scale.large_users,
            seeding.as_secs_f64()
        ));
        if !args.keep_databases {
            seeded.drop_database().await?;
        }
    }
    if !args.keep_databases {
        db.drop_database().await?;
    }

    report.figure(
        "8",
        "RSS idle, empty store",
        idle.now,
        format!("{:.1} MiB", idle.now),
        String::new(),
        Goal::AtMost(30.0),
    );
    report.figure(
        "8",
        "peak RSS under the createUser load of item 2",
        loaded.peak,
        format!("{:.1} MiB", loaded.peak),
        String::new(),
        Goal::AtMost(120.0),
    );

    let table = report.render();
    println!("{table}");
    std::fs::write(&out, &table).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("tandem-bench: table written to {}", out.display());
    Ok(())
}

fn step(name: &str) {
    eprintln!("tandem-bench: {name}");
}

/// Where the CPU time of a run went, per request: what limits throughput on a shared machine.
fn cpu_per_request(cpu: Cpu, requests: u64) -> String {
    let ms = |seconds: f64| seconds * 1000.0 / requests.max(1) as f64;
    format!(
        "Tandem {:.2} ms, Postgres {:.2} ms, bench client {:.2} ms, emulator {:.2} ms",
        ms(cpu.tandem),
        ms(cpu.postgres),
        ms(cpu.bench),
        ms(cpu.emulator)
    )
}

fn ratio_goal(applies: bool, min: f64) -> Goal {
    if applies {
        Goal::RatioAtLeast(min)
    } else {
        Goal::None
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!(
        "Machine: {cores} cores ({cpu}), {mem_gib:.0} GiB; measured {}",
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
}

/// The raw INSERT baseline at each concurrency, and the CPU it took at c=16.
async fn raw_baseline(
    url: &str,
    scale: &Scale,
    emulator: &Emulator,
) -> anyhow::Result<(BTreeMap<usize, Stats>, Cpu)> {
    let mut raw = BTreeMap::new();
    let mut cpu_at_16 = Cpu::default();
    for c in CONCURRENCY {
        let (stats, cpu) = baseline::raw_inserts(url, c, Until::Elapsed(scale.run), emulator).await?;
        raw.insert(c, stats);
        if c == 16 {
            cpu_at_16 = cpu;
        }
    }
    Ok((raw, cpu_at_16))
}

/// Lets the sync work a run left behind finish, so the next run starts on a quiet server.
async fn settle(api: &Api) -> anyhow::Result<()> {
    api.wait_all_synced(Duration::from_secs(600)).await
}

/// Creates users as an admin would, keeping each new id and when it was asked for.
async fn create_users(api: &Api, concurrency: usize, until: Until, tag: &str, ids: Created) -> Stats {
    let api = api.clone();
    let tag = format!("{tag}{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    closed_loop(concurrency, until, move |i| {
        let api = api.clone();
        let ids = ids.clone();
        let input = json!({
            "email": format!("{tag}-{i}@bench.example"),
            "username": format!("{tag}_{i}"),
            "firstName": "Ada",
            "lastName": seed::surname(i % seed::surname_count()),
            "roles": ["member"],
        });
        async move {
            let sent = Utc::now();
            let id = api.create_user(input).await?;
            ids.lock().unwrap().push((id, sent));
            Ok(())
        }
    })
    .await
}

/// The cheapest request the GraphQL endpoint answers: what HTTP, the admin
/// token check and GraphQL cost before any resolver does work.
async fn graphql_floor(api: &Api, until: Until) -> Stats {
    let api = api.clone();
    closed_loop(16, until, move |_| {
        let api = api.clone();
        async move { api.query("{ __typename }", json!({})).await.map(drop) }
    })
    .await
}

/// A create's cost taken apart: creates with sync paused, then the sync
/// they queued, each with the CPU it took; then the same sync with Clerk's
/// webhook of each push coming back, as it does from Clerk.
struct CreateSplit {
    creates: Stats,
    create_cpu: Cpu,
    sync_cpu: Cpu,
    echoed: u64,
    echo_cpu: Cpu,
}

async fn create_then_sync(
    api: &Api,
    emulator: &Emulator,
    server: &Server,
    scale: &Scale,
) -> anyhow::Result<CreateSplit> {
    api.pause_sync(true).await?;
    let cpu = Cpu::now(Some(server), emulator);
    let creates = create_users(api, 16, Until::Elapsed(scale.run), "split", Arc::default()).await;
    let create_cpu = Cpu::now(Some(server), emulator).since(cpu);
    let cpu = Cpu::now(Some(server), emulator);
    api.pause_sync(false).await?;
    settle(api).await?;
    let sync_cpu = Cpu::now(Some(server), emulator).since(cpu);

    api.pause_sync(true).await?;
    let echoed = create_users(api, 16, Until::Elapsed(scale.run), "echo", Arc::default()).await;
    let expected = emulator.webhooks_delivered().await? + echoed.ok as usize;
    let hooks = format!("{}/webhooks/clerk", api.base());
    emulator.deliver_webhooks(&hooks, WEBHOOK_SECRET).await?;
    let cpu = Cpu::now(Some(server), emulator);
    api.pause_sync(false).await?;
    settle(api).await?;
    let deadline = Instant::now() + Duration::from_secs(300);
    while emulator.webhooks_delivered().await? < expected {
        if Instant::now() > deadline {
            bail!("Clerk's webhooks of the pushes were not all delivered within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let echo_cpu = Cpu::now(Some(server), emulator).since(cpu);
    emulator.stop_webhooks().await?;
    Ok(CreateSplit {
        creates,
        create_cpu,
        sync_cpu,
        echoed: echoed.ok,
        echo_cpu,
    })
}

/// Signed `user.created` deliveries of users made in Clerk.
async fn webhooks(api: &Api, until: Until) -> anyhow::Result<Stats> {
    let signer = Arc::new(svix::webhooks::Webhook::new(WEBHOOK_SECRET).context("webhook secret")?);
    let api = api.clone();
    let run = uuid::Uuid::new_v4().simple().to_string();
    Ok(closed_loop(16, until, move |i| {
        let api = api.clone();
        let signer = signer.clone();
        let now = Utc::now();
        let id = format!("{}{:010}", &run[..12], i);
        let body = json!({
            "object": "event",
            "type": "user.created",
            "timestamp": now.timestamp_millis(),
            "data": {
                "object": "user",
                "id": format!("user_{id}"),
                "external_id": null,
                "username": format!("wh_{id}"),
                "first_name": "Grace",
                "last_name": seed::surname(i % seed::surname_count()),
                "primary_email_address_id": format!("idn_{id}"),
                "email_addresses": [{"object": "email_address", "id": format!("idn_{id}"), "email_address": format!("wh-{id}@bench.example"),
                                     "verification": {"status": "verified", "strategy": "admin"}}],
                "created_at": now.timestamp_millis(),
                "updated_at": now.timestamp_millis(),
            }
        })
        .to_string();
        async move {
            let msg_id = format!("msg_{id}");
            let signature = signer.sign(&msg_id, now.timestamp(), body.as_bytes())?;
            api.webhook(
                [("svix-id", msg_id), ("svix-timestamp", now.timestamp().to_string()), ("svix-signature", signature)],
                body,
            )
            .await
        }
    })
    .await)
}

/// p50 and p99 (ms) from asking for a user to its first `ClerkSynced` event.
async fn synced_latencies(api: &Api, sent: &[(String, DateTime<Utc>)]) -> anyhow::Result<(f64, f64)> {
    let mut samples = Vec::new();
    for (id, at) in sent {
        let synced = api
            .first_synced_at(id)
            .await?
            .with_context(|| format!("user {id} never synced"))?;
        let synced = DateTime::parse_from_rfc3339(&synced)?.with_timezone(&Utc);
        samples.push((synced - *at).num_microseconds().unwrap_or(0).max(0) as u64);
    }
    samples.sort_unstable();
    Ok((
        percentile(&samples, 0.5) as f64 / 1000.0,
        percentile(&samples, 0.99) as f64 / 1000.0,
    ))
}

/// Queues `users` creates while sync is paused, then resumes and times the
/// drain: users synced per second, and the Clerk calls it took.
async fn outbound(
    api: &Api,
    emulator: &Emulator,
    users: u64,
    latency_ms: u64,
) -> anyhow::Result<(f64, usize)> {
    api.pause_sync(true).await?;
    let created = create_users(
        api,
        16,
        Until::Requests(users),
        &format!("sync{latency_ms}"),
        Arc::default(),
    )
    .await;
    if created.errors > 0 {
        bail!("{} creates failed while queueing sync work", created.errors);
    }
    emulator.set_latency(latency_ms).await?;
    emulator.clear_requests().await?;
    let started = Instant::now();
    api.pause_sync(false).await?;
    api.wait_all_synced(Duration::from_secs(600)).await?;
    let elapsed = started.elapsed();
    let calls = emulator.request_times().await?.len();
    Ok((users as f64 / elapsed.as_secs_f64(), calls))
}

/// The most calls that fell in any window of `window_ms`.
fn busiest_window(times: &[i64], window_ms: i64) -> usize {
    let mut start = 0;
    let mut most = 0;
    for (end, t) in times.iter().enumerate() {
        while times[start] <= t - window_ms {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

async fn list_users(api: &Api, until: Until, terms: Arc<Vec<String>>) -> Stats {
    let api = api.clone();
    closed_loop(16, until, move |i| {
        let api = api.clone();
        let term = terms[i as usize % terms.len()].clone();
        async move { api.list(&term).await.map(drop) }
    })
    .await
}
