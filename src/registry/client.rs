//! The HTTP side of the registry API: TLS and plain-HTTP choice, authentication on demand,
//! bounded retries with backoff, and registry errors kept as typed data.

use super::tls::Trust;
use super::token::{Challenge, Scope, Token, TokenResponse, parse_challenge};
use crate::auth::Credential;
pub use crate::content::BodyError;
use crate::content::{RegistryErrorEntry, StoreError, error_chain, is_certificate_error};
use crate::oci::normalize_host;
use base64::Engine as _;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode, Url};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a transfer may go without progress before it fails (and is retried, where the
/// retry policy allows): waiting for a connection, for an answer, for body bytes, or for the
/// server to take upload bytes.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The least a download must receive in each stall-timeout window to count as progressing, so
/// that a server dribbling a byte now and then cannot keep a transfer alive forever.
pub const STALL_MIN_BYTES: u64 = 1024;

/// The size of the pieces an upload body is handed to the connection in; each one handed over
/// counts as progress.
const UPLOAD_PIECE: usize = 64 * 1024;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Speak plain HTTP (loopback hosts try HTTPS first and fall back by themselves).
    pub plain_http: bool,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Extra CA certificates (PEM) to trust.
    pub ca_files: Vec<PathBuf>,
    /// Folders holding `<host[:port]>/*.crt` (CA or server certificates) and
    /// `client.cert`/`client.key` (mutual TLS), as Docker's `certs.d`.
    pub certs_dirs: Vec<PathBuf>,
    /// How long a transfer may make no progress ([`DEFAULT_STALL_TIMEOUT`] when `None`).
    pub stall_timeout: Option<Duration>,
}

/// How often to try again, and how long to wait in between.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles each time.
    pub base_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (from 0), or what `Retry-After` asks, capped.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.base_delay.saturating_mul(1 << attempt.min(16));
        retry_after.unwrap_or(exponential).min(self.max_delay)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
    /// Loopback: HTTPS first; HTTP when the server turns out to speak it.
    Auto,
    /// Loopback, found to speak plain HTTP.
    Downgraded,
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<Scope, Token>,
}

/// Whether a host is a loopback address, where Docker allows plain HTTP by default.
pub fn is_loopback(host: &str) -> bool {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A connection to one registry host.
pub struct Client {
    http: reqwest::Client,
    host: String,
    scheme: Mutex<Scheme>,
    credential: Credential,
    auth: Mutex<AuthState>,
    retry: RetryPolicy,
    stall: Duration,
    /// Whether certificates beyond the system's were given (`--ca-file`, `certs.d`).
    given_trust: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("credential", &self.credential)
            .finish()
    }
}

impl Client {
    /// A client for `host` (`host[:port]`).
    pub fn new(
        host: &str,
        options: &TransportOptions,
        credential: Credential,
        retry: RetryPolicy,
    ) -> Result<Client, StoreError> {
        let host = normalize_host(host);
        let tls_failed = |source| StoreError::TlsSetup {
            registry: host.clone(),
            source,
        };
        let mut trust = Trust {
            insecure: options.insecure,
            ..Trust::default()
        };
        for path in &options.ca_files {
            trust.add_pem_file(path).map_err(tls_failed)?;
        }
        for dir in &options.certs_dirs {
            let host_dir = dir.join(&host);
            let Ok(entries) = std::fs::read_dir(&host_dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect();
            files.sort();
            for path in files {
                trust.add_pem_file(&path).map_err(tls_failed)?;
            }
            trust.add_client_identity(&host_dir).map_err(tls_failed)?;
        }
        let given_trust = !trust.given.is_empty();
        let stall = options.stall_timeout.unwrap_or(DEFAULT_STALL_TIMEOUT);
        let http = reqwest::Client::builder()
            .user_agent(concat!("packctl/", env!("CARGO_PKG_VERSION")))
            .use_preconfigured_tls(trust.client_config().map_err(tls_failed)?)
            .connect_timeout(stall)
            .read_timeout(stall)
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| StoreError::Transport {
                registry: host.clone(),
                reason: format!("cannot set up HTTP: {e}"),
            })?;
        let scheme = if options.plain_http {
            Scheme::Http
        } else if is_loopback(&host) {
            Scheme::Auto
        } else {
            Scheme::Https
        };
        Ok(Client {
            http,
            host,
            scheme: Mutex::new(scheme),
            credential,
            auth: Mutex::new(AuthState::default()),
            retry,
            stall,
            given_trust,
        })
    }

    /// `host[:port]`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether requests carry credentials.
    pub fn is_anonymous(&self) -> bool {
        self.credential == Credential::Anonymous
    }

    /// The HTTP client, for requests that need no registry authentication.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// `https://host` or `http://host`.
    pub fn base(&self) -> String {
        let scheme = match *self.scheme.lock().expect("not poisoned") {
            Scheme::Http | Scheme::Downgraded => "http",
            Scheme::Https | Scheme::Auto => "https",
        };
        format!("{scheme}://{}", self.host)
    }

    /// An absolute URL for a path (`/v2/…`) or a `Location` header value.
    pub fn url(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base())
        }
    }

    /// The stall timeout.
    pub fn stall_timeout(&self) -> Duration {
        self.stall
    }

    /// Whether a URL is on the registry itself: same scheme, host and port (with the default
    /// port filled in), so `HOST:443` and `HOST`, or `LOCALHOST` and `localhost`, agree.
    pub fn is_registry(&self, url: &Url) -> bool {
        Url::parse(&self.base()).is_ok_and(|base| base.origin() == url.origin())
    }

    /// Sends a request, as [`Client::send_with`] with a clock of its own.
    pub async fn send<F, Fut>(
        &self,
        scope: &Scope,
        retry: bool,
        build: F,
    ) -> Result<Response, StoreError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<RequestBuilder, StoreError>>,
    {
        self.send_with(scope, retry, &Clock::new(), build).await
    }

    /// Sends a request built by `build` (called again for each attempt, so bodies can be
    /// re-read), authenticating on demand. Connection errors, 429 and 5xx answers are retried
    /// with backoff up to the policy's limit when `retry` is set; 4xx answers never are. A 401
    /// from the registry itself leads to one fresh authentication and one more attempt.
    ///
    /// The request fails when `clock` (which an upload body touches as it is taken) shows no
    /// progress for the stall timeout before the answer arrives.
    pub async fn send_with<F, Fut>(
        &self,
        scope: &Scope,
        retry: bool,
        clock: &Clock,
        build: F,
    ) -> Result<Response, StoreError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<RequestBuilder, StoreError>>,
    {
        let attempts = if retry { self.retry.attempts.max(1) } else { 1 };
        let mut attempt = 0;
        let mut reauthenticated = false;
        let mut downgraded = false;
        loop {
            let builder = build(self.base()).await?;
            let mut request = builder.build().map_err(|e| StoreError::Transport {
                registry: self.host.clone(),
                reason: format!("cannot build a request: {e}"),
            })?;
            if self.is_registry(request.url())
                && let Some(value) = self.authorization(scope).await?
            {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            let method = request.method().clone();
            // Only a subscriber that shows this target pays for the URL's text.
            let url = if tracing::enabled!(target: "packctl::registry", tracing::Level::INFO) {
                without_query(request.url())
            } else {
                String::new()
            };
            let sent = request
                .body()
                .and_then(reqwest::Body::as_bytes)
                .map_or(0, <[u8]>::len);
            let started = Instant::now();
            let Some(outcome) = self.execute_watched(request, clock).await else {
                tracing::debug!(
                    target: "packctl::registry",
                    %method, %url, attempt = attempt + 1,
                    ms = started.elapsed().as_millis() as u64,
                    "request stalled"
                );
                if attempt + 1 < attempts {
                    let delay = self.retry.delay(attempt, None);
                    retrying(
                        &method,
                        &url,
                        attempt,
                        delay,
                        "no progress within the stall timeout",
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    continue;
                }
                return Err(self.stalled());
            };
            match outcome {
                Err(error) => {
                    tracing::debug!(
                        target: "packctl::registry",
                        %method, %url, attempt = attempt + 1,
                        ms = started.elapsed().as_millis() as u64,
                        error = %error_chain(&error),
                        "request failed"
                    );
                    if !downgraded && self.speaks_plain_http(&error) {
                        downgraded = true;
                        continue;
                    }
                    if attempt + 1 < attempts && is_transient(&error) {
                        let delay = self.retry.delay(attempt, None);
                        let reason = format!("connection failed: {}", error_chain(&error));
                        retrying(&method, &url, attempt, delay, &reason);
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(self.connect_error(error));
                }
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(
                        target: "packctl::registry",
                        %method, %url, status = status.as_u16(), attempt = attempt + 1,
                        sent, received = response.content_length(),
                        ms = started.elapsed().as_millis() as u64,
                        "request"
                    );
                    if status == StatusCode::UNAUTHORIZED && !reauthenticated {
                        reauthenticated = true;
                        if self.learn_challenge(&response, scope) {
                            tracing::debug!(
                                target: "packctl::registry",
                                %method, %url,
                                "authenticating as the registry's challenge asks, then again"
                            );
                            continue;
                        }
                        return Ok(response);
                    }
                    if attempt + 1 < attempts
                        && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                    {
                        let after = retry_after(&response);
                        let delay = self.retry.delay(attempt, after);
                        let reason = if status == StatusCode::TOO_MANY_REQUESTS {
                            format!("HTTP {} (too many requests)", status.as_u16())
                        } else {
                            format!("HTTP {} (server error)", status.as_u16())
                        };
                        retrying(&method, &url, attempt, delay, &reason);
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                        continue;
                    }
                    return Ok(response);
                }
            }
        }
    }

    /// Runs a request unless `clock` stands still for the stall timeout first; `None` then.
    async fn execute_watched(
        &self,
        request: reqwest::Request,
        clock: &Clock,
    ) -> Option<Result<Response, reqwest::Error>> {
        clock.touch();
        let execute = self.http.execute(request);
        tokio::pin!(execute);
        loop {
            let deadline = clock.last() + self.stall;
            tokio::select! {
                outcome = &mut execute => return Some(outcome),
                () = tokio::time::sleep_until(deadline.into()) => {
                    if clock.last() + self.stall <= Instant::now() {
                        return None;
                    }
                }
            }
        }
    }

    /// The error for a transfer that made no progress.
    pub fn stalled(&self) -> StoreError {
        StoreError::Stalled {
            registry: self.host.clone(),
            seconds: self.stall.as_secs(),
        }
    }

    /// The error for a request that failed below HTTP, without the query of its URL (upload
    /// session state, signed storage URLs).
    pub fn connect_error(&self, error: reqwest::Error) -> StoreError {
        if error.is_timeout() {
            return self.stalled();
        }
        let error = redact(error);
        if is_certificate_error(&error) {
            return StoreError::UntrustedCertificate {
                registry: self.host.clone(),
                given: self.given_trust,
                source: error,
            };
        }
        StoreError::Connect {
            registry: self.host.clone(),
            source: error,
        }
    }

    /// A response body that fails when it makes no progress for the stall timeout.
    pub fn body(&self, response: Response) -> GuardedBody {
        GuardedBody::new(response, self.stall)
    }

    /// Reads at most `limit` bytes of a response body; what a broken or stalled body gave,
    /// for error bodies, where part of the text is still worth showing.
    pub async fn read_limited(&self, response: Response, limit: usize) -> Vec<u8> {
        self.read_body(response, limit)
            .await
            .unwrap_or_else(|(partial, _)| partial)
    }

    /// Reads at most `limit` bytes of a response body, failing when it breaks or stalls
    /// (with what it gave so far).
    pub async fn read_body(
        &self,
        response: Response,
        limit: usize,
    ) -> Result<Vec<u8>, (Vec<u8>, StoreError)> {
        let mut body = self.body(response);
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(BodyError::Stalled(_)) => return Err((out, self.stalled())),
                Err(BodyError::Broken(e)) => return Err((out, self.connect_error(e))),
            };
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// On a loopback host still on `Auto`, an HTTPS handshake with a plain-HTTP server fails;
    /// switch to HTTP and say so.
    fn speaks_plain_http(&self, error: &reqwest::Error) -> bool {
        let mut scheme = self.scheme.lock().expect("not poisoned");
        match *scheme {
            Scheme::Auto => {}
            // Another request found it out while this one still tried HTTPS: try again now,
            // over HTTP, rather than wait out a retry.
            Scheme::Downgraded => return error.url().is_some_and(|u| u.scheme() == "https"),
            Scheme::Http | Scheme::Https => return false,
        }
        let mut chain = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            chain.push_str(&format!("{e} | {e:?} | "));
            source = e.source();
        }
        let plain = [
            "InvalidContentType",
            "corrupt message",
            "CorruptMessage",
            "InvalidMessage",
        ]
        .iter()
        .any(|needle| chain.contains(needle));
        if plain {
            *scheme = Scheme::Downgraded;
        }
        plain
    }

    /// Records the challenge of a 401 and drops the token it rejected; `true` when another
    /// attempt can succeed.
    ///
    /// A 401 from another host (where a redirect led) is not the registry's: its challenge
    /// is ignored, so that no credential goes to a token realm that host names.
    fn learn_challenge(&self, response: &Response, scope: &Scope) -> bool {
        if !self.is_registry(response.url()) {
            return false;
        }
        let Some(challenge) = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_challenge)
        else {
            return false;
        };
        let mut auth = self.auth.lock().expect("not poisoned");
        let had_token = auth.tokens.remove(scope).is_some();
        let was_basic = auth.challenge == Some(Challenge::Basic);
        let useful = match &challenge {
            // Basic credentials that were already sent will not work better a second time.
            Challenge::Basic => !was_basic && matches!(self.credential, Credential::Basic { .. }),
            Challenge::Bearer { .. } => true,
        };
        auth.challenge = Some(challenge);
        useful || had_token
    }

    async fn authorization(&self, scope: &Scope) -> Result<Option<HeaderValue>, StoreError> {
        let challenge = {
            let auth = self.auth.lock().expect("not poisoned");
            if let Some(token) = auth.tokens.get(scope).filter(|t| t.is_fresh()) {
                return Ok(header(&format!("Bearer {}", token.value)));
            }
            auth.challenge.clone()
        };
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(match &self.credential {
                Credential::Basic { username, password } => {
                    let encoded = base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{password}"));
                    header(&format!("Basic {encoded}"))
                }
                _ => None,
            }),
            Some(Challenge::Bearer { realm, service }) => {
                let token = self.fetch_token(&realm, service.as_deref(), scope).await?;
                let value = header(&format!("Bearer {}", token.value));
                self.auth
                    .lock()
                    .expect("not poisoned")
                    .tokens
                    .insert(scope.clone(), token);
                Ok(value)
            }
        }
    }

    /// Asks the token service for a token for `scope`.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
    ) -> Result<Token, StoreError> {
        let refused = |reason: String| StoreError::Unauthorized {
            registry: self.host.clone(),
            anonymous: self.is_anonymous(),
            reason,
        };
        let url = reqwest::Url::parse(realm)
            .map_err(|_| refused(format!("its token service `{realm}` is not a URL")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused(format!("its token service `{realm}` is not HTTP")));
        }
        if !self.is_anonymous() && url.scheme() == "http" && self.base().starts_with("https:") {
            return Err(refused(format!(
                "its token service `{realm}` is plain HTTP, and packctl does not send the credentials of a registry reached over HTTPS there"
            )));
        }
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s));
        }
        for s in &scope.0 {
            query.push(("scope", s));
        }
        let request = match &self.credential {
            Credential::IdentityToken(refresh) => {
                let mut form = query.clone();
                form.extend([
                    ("grant_type", "refresh_token"),
                    ("client_id", "packctl"),
                    ("refresh_token", refresh.as_str()),
                ]);
                let body: String = form
                    .iter()
                    .map(|(k, v)| format!("{k}={}", urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                self.http
                    .post(url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
            Credential::Basic { username, password } => self
                .http
                .get(url)
                .query(&query)
                .basic_auth(username, Some(password)),
            Credential::Anonymous => self.http.get(url).query(&query),
        };
        let Some(outcome) = self
            .execute_watched(
                request.build().map_err(|e| StoreError::Transport {
                    registry: self.host.clone(),
                    reason: format!("cannot build a token request: {e}"),
                })?,
                &Clock::new(),
            )
            .await
        else {
            return Err(self.stalled());
        };
        let response = outcome.map_err(|source| StoreError::Connect {
            registry: realm.to_string(),
            source: redact(source),
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = self.read_limited(response, 4096).await;
            let detail = String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(200)
                .collect::<String>();
            return Err(refused(format!(
                "its token service answered {status}: {detail}"
            )));
        }
        let body = self
            .read_body(response, 1 << 20)
            .await
            .map_err(|(_, e)| e)?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| refused(format!("its token service sent no JSON token: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| refused("its token service sent an empty token".into()))
    }

    /// Turns a failed response into an error, reading at most 64 KiB of its body.
    pub async fn error(&self, operation: String, response: Response) -> StoreError {
        let status = response.status();
        // After a redirect the answer may come from another host: name that one.
        let registry = if self.is_registry(response.url()) {
            self.host.clone()
        } else {
            let url = response.url();
            let other = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => String::new(),
            };
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                return StoreError::RedirectRefused {
                    registry: self.host.clone(),
                    target: other,
                    status: status.as_u16(),
                };
            }
            format!("{other} (where {} redirected)", self.host)
        };
        let body = self.read_limited(response, 64 * 1024).await;
        if status == StatusCode::BAD_REQUEST
            && String::from_utf8_lossy(&body).contains("HTTP request to an HTTPS server")
        {
            return StoreError::PlainHttpToHttps {
                registry: self.host.clone(),
            };
        }
        let errors = serde_json::from_slice::<Envelope>(&body)
            .map(|e| e.errors)
            .unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            let reason = errors.first().map_or_else(
                || "it answered 401 Unauthorized".to_string(),
                |e| format!("{}: {}", e.code, e.message),
            );
            return StoreError::Unauthorized {
                registry,
                anonymous: self.is_anonymous(),
                reason,
            };
        }
        let text = if errors.is_empty() {
            String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(300)
                .collect()
        } else {
            String::new()
        };
        StoreError::Registry {
            operation,
            registry,
            status: status.as_u16(),
            errors,
            body: text,
        }
    }
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Vec<RegistryErrorEntry>,
}

fn header(value: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn is_transient(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request() || error.is_body()
}

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The error without the query and fragment of its URL.
pub fn redact(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut() {
        strip_query(url);
    }
    error
}

/// Drops the query and fragment, which may carry signed-URL secrets.
fn strip_query(url: &mut Url) {
    url.set_query(None);
    url.set_fragment(None);
}

/// When a transfer last made progress; shared between a request and the body it sends.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Mutex<Instant>>);

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock that reads now.
    pub fn new() -> Clock {
        Clock(Arc::new(Mutex::new(Instant::now())))
    }

    /// Records progress now.
    pub fn touch(&self) {
        *self.0.lock().expect("not poisoned") = Instant::now();
    }

    /// The last progress.
    pub fn last(&self) -> Instant {
        *self.0.lock().expect("not poisoned")
    }
}

/// An upload body from a stream of pieces, each of which touches `clock` as the connection
/// takes it.
pub fn watched_body<S>(stream: S, clock: Clock) -> reqwest::Body
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    reqwest::Body::wrap_stream(stream.inspect(move |_| clock.touch()))
}

/// Bytes in memory as an upload body of [`UPLOAD_PIECE`]-sized pieces that touch `clock`.
pub fn watched_bytes(bytes: Bytes, clock: Clock) -> reqwest::Body {
    let pieces: Vec<std::io::Result<Bytes>> = (0..bytes.len())
        .step_by(UPLOAD_PIECE)
        .map(|at| Ok(bytes.slice(at..bytes.len().min(at + UPLOAD_PIECE))))
        .collect();
    watched_body(futures_util::stream::iter(pieces), clock)
}

/// A response body that fails with [`BodyError::Stalled`] when fewer than [`STALL_MIN_BYTES`]
/// arrive within a stall-timeout window.
pub struct GuardedBody {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    stall: Duration,
    window_start: Instant,
    window_bytes: u64,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl GuardedBody {
    fn new(response: Response, stall: Duration) -> GuardedBody {
        let now = Instant::now();
        GuardedBody {
            inner: Box::pin(response.bytes_stream()),
            stall,
            window_start: now,
            window_bytes: 0,
            timer: Box::pin(tokio::time::sleep_until((now + stall).into())),
        }
    }
}

impl Stream for GuardedBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.window_bytes += chunk.len() as u64;
                let now = Instant::now();
                if this.window_bytes >= STALL_MIN_BYTES {
                    this.window_start = now;
                    this.window_bytes = 0;
                    this.timer.as_mut().reset((now + this.stall).into());
                } else if now >= this.window_start + this.stall {
                    return Poll::Ready(Some(Err(BodyError::Stalled(this.stall))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Broken(redact(e))))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Stalled(this.stall)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` without its query, fragment and user information, to be shown.
fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    strip_query(&mut url);
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// The event of a request about to be sent again.
fn retrying(method: &reqwest::Method, url: &str, attempt: u32, delay: Duration, reason: &str) {
    tracing::info!(
        target: "packctl::registry",
        %method, %url, attempt = attempt + 1,
        delay_ms = delay.as_millis() as u64,
        reason,
        "retrying"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["registry.example.com", "10.0.0.1:5000", "ghcr.io"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, None), Duration::from_millis(200));
        assert_eq!(p.delay(2, None), Duration::from_millis(800));
        assert_eq!(p.delay(10, None), Duration::from_secs(5));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(60))),
            Duration::from_secs(5)
        );
    }

    fn client(host: &str, credential: Credential) -> Client {
        Client::new(
            host,
            &TransportOptions::default(),
            credential,
            RetryPolicy::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_registry_origin_ignores_case_and_default_ports() {
        let c = client("Registry.Example.com:443", Credential::Anonymous);
        assert_eq!(c.host(), "registry.example.com:443");
        for same in [
            "https://registry.example.com/v2/",
            "https://REGISTRY.example.com:443/v2/x",
        ] {
            assert!(c.is_registry(&Url::parse(same).unwrap()), "{same}");
        }
        for other in [
            "http://registry.example.com/v2/",
            "https://registry.example.com:5000/v2/",
            "https://storage.example.com/v2/",
        ] {
            assert!(!c.is_registry(&Url::parse(other).unwrap()), "{other}");
        }
    }

    #[tokio::test]
    async fn credentials_never_go_to_a_plain_http_realm_of_an_https_registry() {
        let c = client(
            "registry.example.com",
            Credential::Basic {
                username: "u".into(),
                password: "p".into(),
            },
        );
        // Refused before any connection: the realm's host does not even exist.
        let error = c
            .fetch_token("http://auth.invalid/token", None, &Scope::none())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::Unauthorized { reason, .. } if reason.contains("plain HTTP")),
            "{error:?}"
        );
    }

    #[test]
    fn urlencoding() {
        assert_eq!(urlencode("a b/c:d"), "a%20b%2Fc%3Ad");
    }
}
