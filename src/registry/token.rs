//! Registry authentication: `WWW-Authenticate` challenges, Basic credentials and Bearer
//! tokens, cached per scope until shortly before they expire.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How a registry asks clients to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// Send `Authorization: Basic` with every request.
    Basic,
    /// Fetch a token from `realm` for each scope.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter, when given.
        service: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
        }),
        _ => None,
    }
}

/// `key="value", key2=value2` with quoted values that may hold commas.
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | ',')) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    params
}

/// The longest a token is used, whatever lifetime its service claims: a day. Longer claims
/// (up to 2^64-1 seconds) are taken as this, and a token is fetched again after it.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The lifetime assumed when a token service names none, as the distribution spec says.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// A Bearer token and when to stop using it.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub value: String,
    refresh_at: Instant,
}

impl Token {
    /// A token valid for `expires_in` seconds ([`DEFAULT_TOKEN_LIFETIME`] when the server
    /// does not say, at most [`MAX_TOKEN_LIFETIME`]), used until 10 seconds before it runs out.
    pub fn new(value: String, expires_in: Option<u64>) -> Self {
        let lifetime = expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs)
            .clamp(Duration::from_secs(1), MAX_TOKEN_LIFETIME);
        let margin = Duration::from_secs(10).min(lifetime / 2);
        let now = Instant::now();
        Token {
            value,
            refresh_at: now.checked_add(lifetime - margin).unwrap_or(now),
        }
    }

    /// Whether it is still good to use.
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// The token endpoint's answer: `token` or `access_token`, whichever is non-empty.
#[derive(Debug, serde::Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    #[serde(default, deserialize_with = "lenient_seconds")]
    expires_in: Option<u64>,
}

/// Seconds from any JSON number: fractions are cut, negatives and non-numbers ignored, and
/// numbers beyond `u64` saturate (the lifetime is clamped later anyway).
fn lenient_seconds<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value: Option<serde_json::Value> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.as_ref().and_then(|v| {
        v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
    }))
}

impl TokenResponse {
    /// The token, or `None` when both fields are empty.
    pub fn into_token(self) -> Option<Token> {
        let value = if !self.token.is_empty() {
            self.token
        } else {
            self.access_token
        };
        (!value.is_empty()).then(|| Token::new(value, self.expires_in))
    }
}

/// A set of access scopes, such as `repository:a/b:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(pub Vec<String>);

impl Scope {
    /// Read access to a repository.
    pub fn pull(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull")])
    }

    /// Read and write access to a repository.
    pub fn push(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull,push")])
    }

    /// Delete access to a repository (with read and write, which tag changes need).
    pub fn delete(repository: &str) -> Scope {
        Scope(vec![format!("repository:{repository}:pull,push,delete")])
    }

    /// Listing repositories.
    pub fn catalog() -> Scope {
        Scope(vec!["registry:catalog:*".into()])
    }

    /// Also read access to another repository (for cross-repository mounts).
    pub fn and_pull(mut self, repository: &str) -> Scope {
        self.0.push(format!("repository:{repository}:pull"));
        self
    }

    /// No scope: checking that credentials work.
    pub fn none() -> Scope {
        Scope(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry Realm\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:a/b:pull,push\""
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into())
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://127.0.0.1:9/token"),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:9/token".into(),
                service: None
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn tokens() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"token":"","access_token":"abc","expires_in":300}"#).unwrap();
        let token = t.into_token().unwrap();
        assert_eq!(token.value, "abc");
        assert!(token.is_fresh());
        let t: TokenResponse = serde_json::from_str(r#"{"token":"x"}"#).unwrap();
        assert_eq!(t.into_token().unwrap().value, "x");
        let t: TokenResponse = serde_json::from_str(r#"{}"#).unwrap();
        assert!(t.into_token().is_none());
        for huge in ["18446744073709551615", "1e300", "-5", "\"soon\""] {
            let t: TokenResponse =
                serde_json::from_str(&format!(r#"{{"token":"x","expires_in":{huge}}}"#)).unwrap();
            assert!(t.into_token().unwrap().is_fresh(), "{huge}");
        }
        assert!(Token::new("t".into(), Some(u64::MAX)).is_fresh());
        let short = Token::new("t".into(), Some(1));
        assert!(
            short.is_fresh(),
            "a one-second token is usable for half a second"
        );
    }
}
