//! The HTTP side of the registry API: TLS and plain-HTTP choice, authentication on demand,
//! bounded retries with backoff, and registry errors kept as typed data.

use super::auth::{Challenge, Credential, Scope, Token, TokenResponse, parse_challenge};
use crate::store::{RegistryErrorEntry, StoreError};
use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// Speak plain HTTP (loopback hosts try HTTPS first and fall back by themselves).
    pub plain_http: bool,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Extra CA certificates (PEM) to trust.
    pub ca_files: Vec<PathBuf>,
    /// Folders holding `<host[:port]>/*.crt`, as Docker's `certs.d`.
    pub certs_dirs: Vec<PathBuf>,
}

/// How often to try again, and how long to wait in between.
#[derive(Debug, Clone, Copy)]
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
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("credential", &self.credential)
            .finish()
    }
}

fn tls_error(host: &str, path: &std::path::Path, reason: String) -> StoreError {
    StoreError::Transport {
        registry: host.to_string(),
        reason: format!(
            "cannot use the CA certificates in `{}`: {reason}",
            path.display()
        ),
    }
}

fn add_certificates(
    mut builder: reqwest::ClientBuilder,
    host: &str,
    path: &std::path::Path,
) -> Result<reqwest::ClientBuilder, StoreError> {
    let pem = std::fs::read(path).map_err(|e| tls_error(host, path, e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| tls_error(host, path, e.to_string()))?;
    if certs.is_empty() {
        return Err(tls_error(host, path, "it holds no PEM certificate".into()));
    }
    for cert in certs {
        builder = builder.add_root_certificate(cert);
    }
    Ok(builder)
}

impl Client {
    /// A client for `host` (`host[:port]`).
    pub fn new(
        host: &str,
        options: &TransportOptions,
        credential: Credential,
        retry: RetryPolicy,
    ) -> Result<Client, StoreError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("packctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(16);
        if options.insecure {
            builder = builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        for path in &options.ca_files {
            builder = add_certificates(builder, host, path)?;
        }
        for dir in &options.certs_dirs {
            let host_dir = dir.join(host);
            let Ok(entries) = std::fs::read_dir(&host_dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect();
            files.sort();
            for path in files {
                builder = add_certificates(builder, host, &path)?;
            }
        }
        let http = builder.build().map_err(|e| StoreError::Transport {
            registry: host.to_string(),
            reason: format!("cannot set up HTTP: {e}"),
        })?;
        let scheme = if options.plain_http {
            Scheme::Http
        } else if is_loopback(host) {
            Scheme::Auto
        } else {
            Scheme::Https
        };
        Ok(Client {
            http,
            host: host.to_string(),
            scheme: Mutex::new(scheme),
            credential,
            auth: Mutex::new(AuthState::default()),
            retry,
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
            Scheme::Http => "http",
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

    fn targets_registry(&self, url: &reqwest::Url) -> bool {
        let authority = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return false,
        };
        let host = self
            .host
            .trim_start_matches('[')
            .replace("]:", ":")
            .trim_end_matches(']')
            .to_string();
        let authority = authority
            .trim_start_matches('[')
            .replace("]:", ":")
            .trim_end_matches(']')
            .to_string();
        authority == host
    }

    /// Sends a request built by `build` (called again for each attempt, so bodies can be
    /// re-read), authenticating on demand. Connection errors, 429 and 5xx answers are retried
    /// with backoff up to the policy's limit when `retry` is set; 4xx answers never are. A 401
    /// leads to one fresh authentication and one more attempt.
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
            if self.targets_registry(request.url())
                && let Some(value) = self.authorization(scope).await?
            {
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            match self.http.execute(request).await {
                Err(error) => {
                    if !downgraded && self.speaks_plain_http(&error) {
                        downgraded = true;
                        continue;
                    }
                    if attempt + 1 < attempts && is_transient(&error) {
                        tokio::time::sleep(self.retry.delay(attempt, None)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(StoreError::Connect {
                        registry: self.host.clone(),
                        source: error,
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::UNAUTHORIZED && !reauthenticated {
                        reauthenticated = true;
                        if self.learn_challenge(&response, scope) {
                            continue;
                        }
                        return Ok(response);
                    }
                    if attempt + 1 < attempts
                        && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                    {
                        let after = retry_after(&response);
                        tokio::time::sleep(self.retry.delay(attempt, after)).await;
                        attempt += 1;
                        continue;
                    }
                    return Ok(response);
                }
            }
        }
    }

    /// On a loopback host still on `Auto`, an HTTPS handshake with a plain-HTTP server fails;
    /// switch to HTTP and say so.
    fn speaks_plain_http(&self, error: &reqwest::Error) -> bool {
        let mut scheme = self.scheme.lock().expect("not poisoned");
        if *scheme != Scheme::Auto {
            return false;
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
            *scheme = Scheme::Http;
        }
        plain
    }

    /// Records the challenge of a 401 and drops the token it rejected; `true` when another
    /// attempt can succeed.
    fn learn_challenge(&self, response: &Response, scope: &Scope) -> bool {
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
        let response = request.send().await.map_err(|source| StoreError::Connect {
            registry: realm.to_string(),
            source,
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = read_limited(response, 4096).await;
            let detail = String::from_utf8_lossy(&body)
                .trim()
                .chars()
                .take(200)
                .collect::<String>();
            return Err(refused(format!(
                "its token service answered {status}: {detail}"
            )));
        }
        let body = read_limited(response, 1 << 20).await;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| refused(format!("its token service sent no JSON token: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| refused("its token service sent an empty token".into()))
    }

    /// Turns a failed response into an error, reading at most 64 KiB of its body.
    pub async fn error(&self, operation: String, response: Response) -> StoreError {
        let status = response.status();
        let body = read_limited(response, 64 * 1024).await;
        let errors = serde_json::from_slice::<Envelope>(&body)
            .map(|e| e.errors)
            .unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            let reason = errors.first().map_or_else(
                || "it answered 401 Unauthorized".to_string(),
                |e| format!("{}: {}", e.code, e.message),
            );
            return StoreError::Unauthorized {
                registry: self.host.clone(),
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
            registry: self.host.clone(),
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

/// Reads at most `limit` bytes of a response body.
pub async fn read_limited(mut response: Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= limit {
            break;
        }
    }
    out
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

    #[test]
    fn urlencoding() {
        assert_eq!(urlencode("a b/c:d"), "a%20b%2Fc%3Ad");
    }
}
