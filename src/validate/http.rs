//! The only code in sprawl that opens a network connection, built only under `--validate`.
//! Every request goes to the URL a check built (https, or http to this machine), with no
//! redirect followed, connect and read timeouts, a bound on the answer, a total time budget,
//! and per-endpoint limits: two requests at once, spaced out, and a `Retry-After` honoured.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::rules::check::{Method, base_is_safe, scheme_and_host};

/// The largest answer read: identity answers are a few KiB; a hostile one may be endless.
pub const MAX_ANSWER_BYTES: u64 = 1 << 20;
/// Requests to one endpoint at the same time.
const PER_ENDPOINT: usize = 2;
/// Time between two requests to one endpoint (at most 10 a second).
const SPACING: Duration = Duration::from_millis(100);
/// The longest `Retry-After` waited for; a longer one makes the result unknown.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Retries after a 429.
const MAX_RETRIES: usize = 2;

/// A request a check built. Headers hold the credential; nothing here is ever printed.
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// An answer: status, headers (names in lower case) and at most [`MAX_ANSWER_BYTES`] of body.
#[derive(Debug, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came: each says what happened without the URL, which may hold the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("the validation time budget was spent before this check")]
    Budget,
    #[error("the answer is larger than {} KiB", MAX_ANSWER_BYTES >> 10)]
    TooLarge,
    #[error("the provider answered with a redirect{0}; not followed")]
    Redirect(String),
    #[error("rate limited by the provider")]
    RateLimited,
    #[error("cannot connect: {0}")]
    Connect(&'static str),
    #[error("refused to send: {0}")]
    Unsafe(String),
}

/// One endpoint's share: requests in flight and when the next may start.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    in_flight: usize,
    next_at: Instant,
}

impl Default for GateState {
    fn default() -> GateState {
        GateState {
            in_flight: 0,
            next_at: Instant::now(),
        }
    }
}

pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
    deadline: Instant,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Client {
    /// `timeout` bounds each request (connect, send, answer); `budget` all of them together.
    pub fn new(timeout: Duration, budget: Duration) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Only the endpoint the check names: no proxy taken from the environment.
            .proxy(None)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .max_response_header_size(32 * 1024)
            .user_agent(concat!("sprawl/", env!("CARGO_PKG_VERSION"), " (validate)"))
            .build();
        Client {
            agent: config.into(),
            timeout,
            deadline: Instant::now() + budget,
            gates: Mutex::new(HashMap::new()),
        }
    }

    fn gate(&self, endpoint: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        gates.entry(endpoint.to_string()).or_default().clone()
    }

    /// Sends `request` to `allowed_host` only, honouring the endpoint's limits.
    pub fn send(
        &self,
        endpoint: &str,
        allowed_host: &str,
        request: &Request,
    ) -> Result<Answer, Failure> {
        let Some((_, host)) = scheme_and_host(&request.url) else {
            return Err(Failure::Unsafe("not an http(s) URL".into()));
        };
        base_is_safe(&request.url)
            .map_err(|_| Failure::Unsafe("plain http to a host other than this machine".into()))?;
        if !host.eq_ignore_ascii_case(allowed_host) {
            return Err(Failure::Unsafe(format!(
                "{host} is not the check's host {allowed_host}"
            )));
        }
        let gate = self.gate(endpoint);
        let mut retries = 0;
        loop {
            self.enter(&gate)?;
            let answer = self.send_once(request);
            self.leave(&gate);
            let answer = answer?;
            if answer.status != 429 {
                return Ok(answer);
            }
            let wait = retry_after(&answer).unwrap_or(Duration::from_secs(1));
            let resume = Instant::now() + wait;
            if retries == MAX_RETRIES || wait > MAX_RETRY_AFTER || resume >= self.deadline {
                return Err(Failure::RateLimited);
            }
            retries += 1;
            // Everyone asking this endpoint waits, not only this request.
            let mut state = gate.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.next_at = state.next_at.max(resume);
        }
    }

    /// Waits for a place among the endpoint's requests and for its spacing.
    fn enter(&self, gate: &Gate) -> Result<(), Failure> {
        let mut state = gate.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(Failure::Budget);
            }
            if state.in_flight < PER_ENDPOINT && now >= state.next_at {
                state.in_flight += 1;
                state.next_at = now + SPACING;
                return Ok(());
            }
            let until = if state.in_flight < PER_ENDPOINT {
                state.next_at.min(self.deadline)
            } else {
                self.deadline
            };
            let wait = until
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            state = gate
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn leave(&self, gate: &Gate) {
        let mut state = gate.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.in_flight = state.in_flight.saturating_sub(1);
        gate.changed.notify_all();
    }

    fn send_once(&self, request: &Request) -> Result<Answer, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Budget);
        }
        let timeout = self.timeout.min(left);
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match &request.body {
            Some(body) => self.run(builder.body(body.as_slice()), timeout),
            None => self.run(builder.body(()), timeout),
        };
        let mut response = result?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        if (300..400).contains(&status) {
            let to = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .and_then(scheme_and_host)
                .map(|(_, host)| format!(" to {host}"))
                .unwrap_or_default();
            return Err(Failure::Redirect(to));
        }
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => Failure::Timeout(timeout.as_secs()),
                _ => Failure::Connect("the answer was cut off"),
            })?;
        if body.len() as u64 > MAX_ANSWER_BYTES {
            return Err(Failure::TooLarge);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

impl Client {
    fn run<S: ureq::AsSendBody>(
        &self,
        built: Result<ureq::http::Request<S>, ureq::http::Error>,
        timeout: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, Failure> {
        let built = built.map_err(|_| Failure::Unsafe("the request is not valid HTTP".into()))?;
        let request = self
            .agent
            .configure_request(built)
            .timeout_global(Some(timeout))
            .build();
        self.agent.run(request).map_err(|e| failure(&e, timeout))
    }
}

/// `Retry-After: 3` (seconds). An HTTP date is read as one second: rare from APIs.
fn retry_after(answer: &Answer) -> Option<Duration> {
    let value = answer.header("retry-after")?.trim();
    Some(Duration::from_secs(value.parse::<u64>().unwrap_or(1)))
}

/// A ureq error in words of our own: its Display may carry the URL, and the URL may carry
/// the secret (a Telegram bot token is part of the path).
fn failure(error: &ureq::Error, timeout: Duration) -> Failure {
    use ureq::Error as E;
    match error {
        E::Timeout(_) => Failure::Timeout(timeout.as_secs()),
        E::BodyExceedsLimit(_) => Failure::TooLarge,
        E::HostNotFound => Failure::Connect("host not found"),
        E::ConnectionFailed => Failure::Connect("connection failed"),
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Failure::Timeout(timeout.as_secs())
        }
        E::Io(_) => Failure::Connect("connection lost"),
        E::Tls(_) | E::Rustls(_) => Failure::Connect("TLS handshake failed"),
        E::TooManyRedirects | E::RedirectFailed => Failure::Redirect(String::new()),
        E::LargeResponseHeader(_, _) => Failure::TooLarge,
        _ => Failure::Connect("the provider's answer was not valid HTTP"),
    }
}
