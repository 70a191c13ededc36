//! Keeps Clerk calls under the configured rate, and holds every call back
//! while Clerk has asked us (429 + `Retry-After`) to wait.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::RateLimit;

pub struct RateLimiter {
    limit: Option<RateLimit>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Start times of the calls in the current window, oldest first.
    recent: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl RateLimiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            state: Mutex::new(State::default()),
        }
    }

    /// Waits until one more call fits in the window, then counts it. A
    /// sliding window, so no window of that length ever holds more calls.
    pub async fn acquire(&self) {
        loop {
            let wait_until = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                match state.blocked_until {
                    Some(until) if until > now => Some(until),
                    _ => match self.limit {
                        None => None,
                        Some(limit) => {
                            // Clerk counts calls as they arrive, and arrivals
                            // bunch up by network jitter: a 2 % longer window
                            // keeps Clerk's count under the limit too.
                            let window = limit.per + limit.per / 50;
                            while state
                                .recent
                                .front()
                                .is_some_and(|t| now.duration_since(*t) >= window)
                            {
                                state.recent.pop_front();
                            }
                            if state.recent.len() < limit.requests as usize {
                                state.recent.push_back(now);
                                None
                            } else {
                                state.recent.front().map(|oldest| *oldest + window)
                            }
                        }
                    },
                }
            };
            match wait_until {
                None => return,
                Some(until) => tokio::time::sleep_until(until).await,
            }
        }
    }

    /// Clerk said 429: no call goes out before `retry_after` has passed.
    pub async fn back_off(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut state = self.state.lock().await;
        state.blocked_until = Some(state.blocked_until.map_or(until, |b| b.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_window_holds_more_than_the_limit() {
        let limiter = RateLimiter::new(Some(RateLimit {
            requests: 3,
            per: Duration::from_secs(1),
        }));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate().skip(3) {
            assert!(
                *t >= times[i - 3] + Duration::from_secs(1),
                "call {i} at {t:?}: {times:?}"
            );
        }
        assert_eq!(times[2], Duration::ZERO, "the first three go at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_every_call_back() {
        let limiter = RateLimiter::new(None);
        limiter.back_off(Duration::from_secs(2)).await;
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
