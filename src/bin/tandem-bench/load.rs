//! Closed-loop load: `concurrency` workers each send one request, wait for
//! the answer, and send the next, until a deadline or a request count.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When a load run stops.
#[derive(Clone, Copy)]
pub enum Until {
    Elapsed(Duration),
    Requests(u64),
}

pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted, in microseconds.
    latencies: Vec<u64>,
}

impl Stats {
    pub fn per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn p50_ms(&self) -> f64 {
        self.percentile_ms(0.50)
    }

    pub fn p99_ms(&self) -> f64 {
        self.percentile_ms(0.99)
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        percentile(&self.latencies, q) as f64 / 1000.0
    }
}

/// The value below which a fraction `q` of the sorted samples lie.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `op(i)` with a unique, increasing `i` per request. An error counts
/// and the first one is printed: a figure built on failing requests is not a figure.
pub async fn closed_loop<F, Fut>(concurrency: usize, until: Until, op: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let done = match until {
                        Until::Elapsed(limit) => started.elapsed() >= limit,
                        Until::Requests(n) => i >= n,
                    };
                    if done {
                        break;
                    }
                    let sent = Instant::now();
                    match op(i).await {
                        Ok(()) => latencies.push(sent.elapsed().as_micros() as u64),
                        Err(error) => {
                            if errors == 0 {
                                eprintln!("tandem-bench: request failed: {error:#}");
                            }
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.await.expect("load worker panicked");
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Stats {
        ok: latencies.len() as u64,
        errors,
        elapsed,
        latencies,
    }
}
