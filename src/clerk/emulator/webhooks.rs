//! Clerk's webhooks as Svix sends them: every change in Clerk's envelope, signed, retried until a 2xx.
//!
//! One task delivers events in the order they were made; an event being retried holds later ones back, as
//! the order is what a receiver most easily gets wrong. Delayed events (a fault) are the exception: each
//! waits and retries on its own task, so later events overtake it.

use std::collections::VecDeque;
use std::mem;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, Url};
use serde::Serialize;
use serde_json::json;
use svix::webhooks::{Webhook, WebhookError};
use tokio::sync::mpsc;

use super::state::new_id;
use super::{lock, now_ms, EmulatorEvent};

/// Waits between attempts: Svix's schedule (immediately, 5 s, 5 min, 30 min, 2 h, …) compressed to about
/// 18 s, so a receiver that is down briefly still gets the event and a test sees the end of it.
const BACKOFF: [Duration; 6] = [
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

/// Svix counts an answer slower than this as a failure.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a reordered event waits for one to follow it before it goes anyway: late, not lost.
const HOLD_LIMIT: Duration = Duration::from_secs(2);

const USER_AGENT: &str = "tandem-clerk-emulator";

/// Where webhooks go, the faults queued for them, and the log of attempts.
pub struct Webhooks {
    /// `ins_…`, the same in every envelope of this emulator.
    instance_id: String,
    hub: Arc<Mutex<Hub>>,
    /// Kept out of `hub`, which the delivery task holds: dropping the emulator closes the queue, and the
    /// task ends once it has delivered what is left.
    queue: Mutex<Option<mpsc::UnboundedSender<Message>>>,
}

#[derive(Default)]
struct Hub {
    target: Option<Target>,
    faults: VecDeque<QueuedFault>,
    log: Vec<Attempt>,
    /// Attempts in `log` answered with a 2xx.
    delivered: usize,
}

/// Read at every attempt, so a replaced target gets the retries too, and a removed one stops them.
#[derive(Clone)]
struct Target {
    url: Url,
    signer: Arc<Webhook>,
}

/// What a webhook fault does to each event it applies to.
#[derive(Clone, Copy)]
pub enum Fault {
    /// Delivered twice, with the same `svix-id`.
    Duplicate,
    /// Waits this long before its first attempt, while later events go on.
    Delay(Duration),
    /// Held and sent right after the event that follows it.
    Reorder,
    /// Never delivered.
    Drop,
}

struct QueuedFault {
    fault: Fault,
    remaining: u32,
}

/// The faults one event drew.
#[derive(Default)]
struct Plan {
    drop: bool,
    duplicate: bool,
    delay: Option<Duration>,
    reorder: bool,
}

struct Message {
    svix_id: String,
    event_type: String,
    user_id: String,
    /// Signed and sent as is, byte for byte the same on every attempt.
    body: Bytes,
    plan: Plan,
}

/// One attempt, as `GET /_emulator/webhooks` lists it.
#[derive(Clone, Serialize)]
pub struct Attempt {
    svix_id: String,
    r#type: String,
    user_id: String,
    /// Counts from 1 across every attempt with this `svix_id`, duplicates included.
    attempt: u32,
    /// `None` when the request failed without an answer (refused, timed out, broken).
    status: Option<u16>,
    /// When the attempt was sent.
    at_ms: i64,
}

/// The webhook log counted, as `GET /_emulator/webhooks/summary` answers:
/// cheap to poll while thousands of webhooks go out.
#[derive(Serialize)]
pub struct Summary {
    attempts: usize,
    /// Attempts answered with a 2xx.
    delivered: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the webhook URL {0:?} is not an http or https URL")]
    Url(String),
    #[error("the webhook signing secret is not a whsec_ base64 secret")]
    Secret(#[source] WebhookError),
}

impl Webhooks {
    pub fn new() -> Self {
        Self {
            instance_id: new_id("ins"),
            hub: Arc::default(),
            queue: Mutex::new(None),
        }
    }

    /// Sends every later event to `url`, starting the delivery task if it is not running.
    pub fn set_target(&self, url: &str, secret: &str) -> Result<(), TargetError> {
        let parsed = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| TargetError::Url(url.to_owned()))?;
        let signer = Webhook::new(secret).map_err(TargetError::Secret)?;
        // The task runs before the target is set, so an event that finds a target always finds the queue.
        self.start();
        lock(&self.hub).target = Some(Target {
            url: parsed,
            signer: Arc::new(signer),
        });
        Ok(())
    }

    /// Stops delivery: later events are not sent, and queued events and retries are abandoned.
    pub fn stop(&self) {
        lock(&self.hub).target = None;
    }

    pub fn add_fault(&self, fault: Fault, count: u32) {
        lock(&self.hub).faults.push_back(QueuedFault {
            fault,
            remaining: count,
        });
    }

    pub fn clear_faults(&self) {
        lock(&self.hub).faults.clear();
    }

    pub fn log(&self) -> Vec<Attempt> {
        lock(&self.hub).log.clone()
    }

    /// The log counted, without copying it.
    pub fn summary(&self) -> Summary {
        let hub = lock(&self.hub);
        Summary {
            attempts: hub.log.len(),
            delivered: hub.delivered,
        }
    }

    /// Forgets faults and the log; the target stays, as it is configuration, like the secret key.
    pub fn reset(&self) {
        let mut hub = lock(&self.hub);
        hub.faults.clear();
        hub.log.clear();
        hub.delivered = 0;
    }

    /// Queues the event for delivery when there is a target; called in the order events are made.
    pub fn enqueue(&self, event: &EmulatorEvent) {
        let plan = {
            let mut hub = lock(&self.hub);
            if hub.target.is_none() {
                return;
            }
            hub.take_plan()
        };
        let message = Message {
            svix_id: new_id("msg"),
            event_type: event.r#type.clone(),
            user_id: event.data["id"].as_str().unwrap_or_default().to_owned(),
            body: self.envelope(event),
            plan,
        };
        if message.plan.drop {
            tracing::info!(
                webhook.id = %message.svix_id,
                webhook.event = %message.event_type,
                "dropping a webhook, as a queued fault asked"
            );
            return;
        }
        let sent = lock(&self.queue)
            .as_ref()
            .is_some_and(|queue| queue.send(message).is_ok());
        if !sent {
            tracing::error!("the webhook delivery task is not running; the event is not delivered");
        }
    }

    /// Clerk's envelope; the request fields stand for the Backend API call that made the change.
    fn envelope(&self, event: &EmulatorEvent) -> Bytes {
        let envelope = json!({
            "data": event.data,
            "object": "event",
            "type": event.r#type,
            "timestamp": event.timestamp_ms,
            "instance_id": self.instance_id,
            "event_attributes": {
                "http_request": { "client_ip": "127.0.0.1", "user_agent": USER_AGENT },
            },
        });
        Bytes::from(envelope.to_string())
    }

    /// Spawns the delivery task unless one is running; a task dies with its runtime, so a closed queue
    /// gets a new one.
    fn start(&self) {
        let mut queue = lock(&self.queue);
        if queue.as_ref().is_some_and(|q| !q.is_closed()) {
            return;
        }
        let client = Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            // Svix counts a redirect as a failure.
            .redirect(Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .expect("a plain HTTP client always builds");
        let (sender, receiver) = mpsc::unbounded_channel();
        let courier = Courier {
            hub: Arc::clone(&self.hub),
            client,
        };
        tokio::spawn(run(courier, receiver));
        *queue = Some(sender);
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    /// Takes one use of the first queued fault of each kind, so kinds combine (a delayed duplicate).
    fn take_plan(&mut self) -> Plan {
        let mut plan = Plan::default();
        let mut seen = Vec::new();
        for queued in &mut self.faults {
            let kind = mem::discriminant(&queued.fault);
            if seen.contains(&kind) {
                continue;
            }
            seen.push(kind);
            queued.remaining -= 1;
            match queued.fault {
                Fault::Duplicate => plan.duplicate = true,
                Fault::Delay(delay) => plan.delay = Some(delay),
                Fault::Reorder => plan.reorder = true,
                Fault::Drop => plan.drop = true,
            }
        }
        self.faults.retain(|q| q.remaining > 0);
        plan
    }
}

/// Delivers events one after another in the order they were queued; reordered events wait for the next.
async fn run(courier: Courier, mut queue: mpsc::UnboundedReceiver<Message>) {
    // A stack: with two reordered events in a row, each goes right after its follower, so the last is first.
    let mut held: Vec<Message> = Vec::new();
    loop {
        let next = if held.is_empty() {
            queue.recv().await
        } else {
            match tokio::time::timeout(HOLD_LIMIT, queue.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    courier.release(&mut held).await;
                    continue;
                }
            }
        };
        let Some(message) = next else { break };
        if message.plan.reorder {
            held.push(message);
            continue;
        }
        courier.dispatch(message).await;
        courier.release(&mut held).await;
    }
    courier.release(&mut held).await;
}

#[derive(Clone)]
struct Courier {
    hub: Arc<Mutex<Hub>>,
    client: Client,
}

impl Courier {
    async fn release(&self, held: &mut Vec<Message>) {
        while let Some(message) = held.pop() {
            self.dispatch(message).await;
        }
    }

    /// Delivers now, or for a delayed event, on a task of its own so later events go on meanwhile.
    async fn dispatch(&self, message: Message) {
        match message.plan.delay {
            None => self.deliver(&message).await,
            Some(delay) => {
                let courier = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    courier.deliver(&message).await;
                });
            }
        }
    }

    async fn deliver(&self, message: &Message) {
        let mut attempts = 0;
        let times = if message.plan.duplicate { 2 } else { 1 };
        for _ in 0..times {
            self.deliver_once(message, &mut attempts).await;
        }
    }

    /// Attempts until a 2xx, backing off between failures, until the schedule runs out or delivery stops.
    async fn deliver_once(&self, message: &Message, attempts: &mut u32) {
        let mut backoff = BACKOFF.iter();
        loop {
            let target = lock(&self.hub).target.clone();
            let Some(target) = target else {
                return;
            };
            *attempts += 1;
            let at_ms = now_ms();
            let status = self.attempt(&target, message).await;
            let delivered = status.is_some_and(|s| s.is_success());
            {
                let mut hub = lock(&self.hub);
                hub.log.push(Attempt {
                    svix_id: message.svix_id.clone(),
                    r#type: message.event_type.clone(),
                    user_id: message.user_id.clone(),
                    attempt: *attempts,
                    status: status.map(|s| s.as_u16()),
                    at_ms,
                });
                hub.delivered += usize::from(delivered);
            }
            if delivered {
                return;
            }
            let Some(wait) = backoff.next() else {
                tracing::warn!(
                    webhook.id = %message.svix_id,
                    webhook.event = %message.event_type,
                    webhook.attempts = *attempts,
                    "giving up on a webhook after its last retry"
                );
                return;
            };
            tokio::time::sleep(*wait).await;
        }
    }

    /// One signed POST; the signature covers this attempt's timestamp, so each attempt is signed afresh.
    async fn attempt(&self, target: &Target, message: &Message) -> Option<StatusCode> {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = target
            .signer
            .sign(&message.svix_id, timestamp, &message.body)
            .expect("an envelope is JSON, so UTF-8, which is all signing asks");
        let response = self
            .client
            .post(target.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header("svix-id", &message.svix_id)
            .header("svix-timestamp", timestamp.to_string())
            .header("svix-signature", signature)
            .body(message.body.clone())
            .send()
            .await;
        match response {
            Ok(response) => Some(response.status()),
            Err(error) => {
                tracing::debug!(webhook.id = %message.svix_id, error = %error, "a webhook attempt failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_takes_one_use_of_the_first_fault_of_each_kind() {
        let mut hub = Hub::default();
        for (fault, remaining) in [(Fault::Drop, 1), (Fault::Duplicate, 2), (Fault::Drop, 1)] {
            hub.faults.push_back(QueuedFault { fault, remaining });
        }

        let first = hub.take_plan();
        let second = hub.take_plan();
        let third = hub.take_plan();

        assert!(first.drop && first.duplicate);
        assert!(second.drop && second.duplicate);
        assert!(!third.drop && !third.duplicate && third.delay.is_none() && !third.reorder);
    }
}
