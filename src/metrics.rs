//! Prometheus text metrics: Clerk calls and sync latency are counted as they
//! happen; queue gauges are read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sync latency buckets in seconds: from an instant push to the last retry.
const LATENCY_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
];

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Inner>>);

#[derive(Default)]
struct Inner {
    clerk_calls: BTreeMap<(&'static str, &'static str), u64>,
    latency_counts: [u64; LATENCY_BUCKETS.len()],
    latency_total: u64,
    latency_sum: f64,
}

/// Read from the database when scraped.
pub struct QueueGauges {
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_seconds: f64,
}

impl Metrics {
    pub fn clerk_call(&self, endpoint: &'static str, outcome: &'static str) {
        let mut inner = self.0.lock().expect("metrics lock");
        *inner.clerk_calls.entry((endpoint, outcome)).or_default() += 1;
    }

    /// Time from a change being made to Clerk holding it.
    pub fn sync_latency(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let mut inner = self.0.lock().expect("metrics lock");
        for (bucket, count) in LATENCY_BUCKETS.iter().zip(inner.latency_counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        inner.latency_total += 1;
        inner.latency_sum += seconds;
    }

    pub fn render(&self, gauges: &QueueGauges) -> String {
        let inner = self.0.lock().expect("metrics lock");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tandem_clerk_calls_total Calls to Clerk's Backend API by endpoint and outcome."
        );
        let _ = writeln!(out, "# TYPE tandem_clerk_calls_total counter");
        for ((endpoint, outcome), n) in &inner.clerk_calls {
            let _ = writeln!(
                out,
                "tandem_clerk_calls_total{{endpoint=\"{endpoint}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tandem_sync_pending_users Users with a change not yet in Clerk."
        );
        let _ = writeln!(out, "# TYPE tandem_sync_pending_users gauge");
        let _ = writeln!(out, "tandem_sync_pending_users {}", gauges.pending);
        let _ = writeln!(
            out,
            "# HELP tandem_sync_failed_users Users whose sync needs an admin."
        );
        let _ = writeln!(out, "# TYPE tandem_sync_failed_users gauge");
        let _ = writeln!(out, "tandem_sync_failed_users {}", gauges.failed);
        let _ = writeln!(
            out,
            "# HELP tandem_sync_oldest_pending_seconds Age of the oldest change not yet in Clerk."
        );
        let _ = writeln!(out, "# TYPE tandem_sync_oldest_pending_seconds gauge");
        let _ = writeln!(
            out,
            "tandem_sync_oldest_pending_seconds {:.3}",
            gauges.oldest_pending_seconds
        );
        let _ = writeln!(
            out,
            "# HELP tandem_sync_latency_seconds Time from a change to Clerk holding it."
        );
        let _ = writeln!(out, "# TYPE tandem_sync_latency_seconds histogram");
        for (bucket, count) in LATENCY_BUCKETS.iter().zip(inner.latency_counts.iter()) {
            let _ = writeln!(
                out,
                "tandem_sync_latency_seconds_bucket{{le=\"{bucket}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "tandem_sync_latency_seconds_bucket{{le=\"+Inf\"}} {}",
            inner.latency_total
        );
        let _ = writeln!(out, "tandem_sync_latency_seconds_sum {:.6}", inner.latency_sum);
        let _ = writeln!(out, "tandem_sync_latency_seconds_count {}", inner.latency_total);
        out
    }
}
