//! An in-process fake registry for the failures a real one will not produce on demand: a
//! 500 during an upload, an expired token, `NAME_UNKNOWN`, a wrong blob, a redirect to
//! another host, a cap on request size.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake does wrong, and what it saw.
#[derive(Default)]
pub struct Faults {
    /// Answer this many blob upload PUTs with 500 before accepting one.
    pub fail_puts: usize,
    /// Answer this many chunk PATCHes with 500, in the middle of an upload session.
    pub fail_patches: usize,
    /// Require Bearer tokens from `/token`.
    pub bearer: bool,
    /// Reject the first token after this many uses, as if it expired early.
    pub expire_first_token_after: Option<usize>,
    /// Answer blob uploads with 404 NAME_UNKNOWN.
    pub name_unknown: bool,
    /// Serve other bytes for blobs.
    pub corrupt_blobs: bool,
    /// Redirect blob GETs to this base URL (another host).
    pub redirect_blobs_to: Option<String>,
    /// Refuse request bodies over this size with 413.
    pub max_body: Option<usize>,
    /// Answer manifest PUTs with this status and body instead of storing them.
    pub manifest_put_error: Option<(u16, String)>,
    /// Answer `/storage/` GETs (the other host of a redirect) with a 401 whose Bearer realm
    /// is this host's own `/token`.
    pub storage_challenge: bool,
    /// The raw JSON of `expires_in` in token answers (default 300).
    pub token_expires_in: Option<String>,
    /// Put upload sessions at this base URL (another host) instead of this one.
    pub upload_base: Option<String>,
    /// Send blob bodies one byte at a time, this far apart.
    pub dribble_blobs: Option<Duration>,
    /// Answer no blob upload PUT (hold it open) for this long.
    pub hang_upload_puts: Option<Duration>,
    /// Break the connection half way through this many blob GETs.
    pub cut_blob_gets: usize,
    /// How to answer a POST that opens an upload with the whole blob (`?digest=`): `None`
    /// ignores the body and opens a session, as distribution 2.8 does; `Some(201)` stores
    /// the blob; another status refuses the request with it.
    pub post_whole: Option<u16>,
    /// Answer mounts (`?mount=&from=`) with 400, as a registry that refuses them.
    pub refuse_mounts: bool,
    /// Serve the OCI 1.1 referrers API (`GET /v2/<name>/referrers/<digest>`, with
    /// `artifactType` filtering) and answer a manifest PUT with a subject with `OCI-Subject`.
    pub referrers_api: bool,
    /// Called once, when the first blob upload session is opened (before any blob byte is
    /// read by the client): to change a file under a push.
    pub on_first_upload: Option<Box<dyn FnOnce() + Send>>,
}

/// Every request: method, path and query, Authorization header.
pub type Log = Vec<(String, String, Option<String>)>;

#[derive(Default)]
pub struct Inner {
    pub faults: Faults,
    pub log: Log,
    /// The `Range` headers of blob GETs.
    pub ranges: Vec<String>,
    blobs: HashMap<String, Bytes>,
    manifests: HashMap<String, (String, Bytes)>,
    tags: HashMap<String, String>,
    uploads: HashMap<String, Vec<u8>>,
    tokens_issued: usize,
    first_token_uses: usize,
    next_upload: usize,
}

pub type Shared = Arc<Mutex<Inner>>;

/// A fake registry serving on a loopback port from a background thread.
pub struct Fake {
    pub host: String,
    pub state: Shared,
    _runtime: tokio::runtime::Runtime,
}

impl Fake {
    pub fn start(faults: Faults) -> Fake {
        let state: Shared = Arc::new(Mutex::new(Inner {
            faults,
            ..Inner::default()
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let app = axum::Router::new()
            .fallback(handle)
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(state.clone());
        runtime.spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake {
            host,
            state,
            _runtime: runtime,
        }
    }

    /// The requests seen so far.
    pub fn log(&self) -> Log {
        self.state.lock().unwrap().log.clone()
    }

    /// Seeds a blob.
    pub fn put_blob(&self, bytes: &[u8]) -> String {
        let digest = packctl::oci::Digest::of(bytes).to_string();
        self.state
            .lock()
            .unwrap()
            .blobs
            .insert(digest.clone(), Bytes::copy_from_slice(bytes));
        digest
    }

    /// Seeds a manifest under a tag.
    pub fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let digest = packctl::oci::Digest::of(bytes).to_string();
        let mut s = self.state.lock().unwrap();
        s.manifests.insert(
            format!("{repository}@{digest}"),
            (media_type.to_string(), Bytes::copy_from_slice(bytes)),
        );
        s.tags.insert(format!("{repository}:{tag}"), digest.clone());
        digest
    }
}

fn respond(status: StatusCode, headers: &[(&str, String)], body: impl Into<Body>) -> Response {
    let mut builder = Response::builder().status(status);
    for (k, v) in headers {
        builder = builder.header(*k, v);
    }
    builder.body(body.into()).unwrap()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(r#"{{"errors":[{{"code":"{code}","message":"{message}","detail":null}}]}}"#);
    respond(status, &[("content-type", "application/json".into())], body)
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let hang = state.lock().unwrap().faults.hang_upload_puts;
    if let Some(hang) = hang
        && method == Method::PUT
        && path.contains("/blobs/uploads/")
    {
        state.lock().unwrap().log.push((
            method.to_string(),
            format!("{path}?{query}"),
            auth.clone(),
        ));
        tokio::time::sleep(hang).await;
        return error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "gave up");
    }
    let mut s = state.lock().unwrap();
    s.log
        .push((method.to_string(), format!("{path}?{query}"), auth.clone()));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();

    if let Some(storage) = path.strip_prefix("/storage/") {
        // The "other host" of a redirect.
        if s.faults.storage_challenge {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required",
            );
            let challenge = format!(r#"Bearer realm="http://{host}/token",service="storage""#);
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.parse().unwrap());
            return r;
        }
        return match s.blobs.get(storage).cloned() {
            Some(bytes) => respond(StatusCode::OK, &[], bytes),
            None => respond(StatusCode::NOT_FOUND, &[], ""),
        };
    }
    if path == "/token" {
        s.tokens_issued += 1;
        let token = format!("token-{}", s.tokens_issued);
        let expires_in = s
            .faults
            .token_expires_in
            .clone()
            .unwrap_or_else(|| "300".into());
        return respond(
            StatusCode::OK,
            &[("content-type", "application/json".into())],
            format!(r#"{{"token":"{token}","expires_in":{expires_in}}}"#),
        );
    }
    if s.faults.bearer {
        let challenge = format!(r#"Bearer realm="http://{host}/token",service="fake""#);
        let ok = match auth.as_deref() {
            Some("Bearer token-1") => {
                s.first_token_uses += 1;
                s.faults
                    .expire_first_token_after
                    .is_none_or(|limit| s.first_token_uses <= limit)
            }
            Some(a) => a.starts_with("Bearer token-"),
            None => false,
        };
        if !ok {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge.parse().unwrap());
            return r;
        }
    }
    if path == "/v2/" {
        return respond(StatusCode::OK, &[], "{}");
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such path");
    };
    if let Some(limit) = s.faults.max_body
        && body.len() > limit
    {
        return respond(StatusCode::PAYLOAD_TOO_LARGE, &[], "request body too large");
    }

    if let Some((repository, reference)) = rest.split_once("/manifests/") {
        return manifests(&mut s, &method, repository, reference, &headers, body);
    }
    if let Some((repository, subject)) = rest.split_once("/referrers/") {
        if !s.faults.referrers_api {
            return respond(StatusCode::NOT_FOUND, &[], "404 page not found");
        }
        return referrers(&s, repository, subject, &query);
    }
    if let Some((_repository, upload)) = rest.split_once("/blobs/uploads/") {
        if s.faults.name_unknown {
            return error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "repository name not known to registry",
            );
        }
        return uploads(&mut s, &method, rest, upload, &query, body);
    }
    if let Some((_repository, digest)) = rest.split_once("/blobs/") {
        if let Some(target) = &s.faults.redirect_blobs_to
            && method == Method::GET
        {
            return respond(
                StatusCode::TEMPORARY_REDIRECT,
                &[("location", format!("{target}/storage/{digest}"))],
                "",
            );
        }
        let Some(bytes) = s.blobs.get(digest).cloned() else {
            return error(
                StatusCode::NOT_FOUND,
                "BLOB_UNKNOWN",
                "blob unknown to registry",
            );
        };
        let bytes = if s.faults.corrupt_blobs && method == Method::GET {
            let mut other = bytes.to_vec();
            if let Some(b) = other.first_mut() {
                *b ^= 0xff;
            }
            Bytes::from(other)
        } else {
            bytes
        };
        if method == Method::GET {
            return blob_body(&mut s, &headers, digest, bytes);
        }
        return respond(
            StatusCode::OK,
            &[
                ("content-length", bytes.len().to_string()),
                ("docker-content-digest", digest.to_string()),
            ],
            Bytes::new(),
        );
    }
    if rest == "_catalog" {
        // One repository a page, so that clients must follow the Link header.
        let mut repositories: Vec<String> = s
            .tags
            .keys()
            .filter_map(|k| k.split_once(':').map(|(r, _)| r.to_string()))
            .collect();
        repositories.sort();
        repositories.dedup();
        let last = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("last="))
            .map(|l| l.replace("%2F", "/"));
        let page: Vec<String> = repositories
            .iter()
            .filter(|r| last.as_ref().is_none_or(|l| r.as_str() > l.as_str()))
            .take(1)
            .cloned()
            .collect();
        let mut headers = vec![("content-type", "application/json".to_string())];
        if let Some(r) = page.last()
            && repositories.last() != Some(r)
        {
            headers.push((
                "link",
                format!(
                    "</v2/_catalog?n=1&last={}>; rel=\"next\"",
                    r.replace('/', "%2F")
                ),
            ));
        }
        return respond(
            StatusCode::OK,
            &headers,
            serde_json::json!({"repositories": page}).to_string(),
        );
    }
    if let Some(repository) = rest.strip_suffix("/tags/list") {
        let mut tags: Vec<String> = s
            .tags
            .keys()
            .filter_map(|k| {
                k.strip_prefix(&format!("{repository}:"))
                    .map(str::to_string)
            })
            .collect();
        tags.sort();
        return respond(
            StatusCode::OK,
            &[("content-type", "application/json".into())],
            serde_json::json!({"name": repository, "tags": tags}).to_string(),
        );
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such path")
}

/// A blob GET: from the `Range` start when one is asked for, dribbled or cut when told.
fn blob_body(s: &mut Inner, headers: &HeaderMap, digest: &str, bytes: Bytes) -> Response {
    let total = bytes.len();
    let start = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .inspect(|range| s.ranges.push(range.to_string()))
        .and_then(|range| range.strip_prefix("bytes="))
        .and_then(|range| range.trim_end_matches('-').parse::<usize>().ok())
        .filter(|start| *start < total);
    let (status, body) = match start {
        Some(start) => (StatusCode::PARTIAL_CONTENT, bytes.slice(start..)),
        None => (StatusCode::OK, bytes),
    };
    let mut out = vec![
        ("content-length", body.len().to_string()),
        ("docker-content-digest", digest.to_string()),
    ];
    if let Some(start) = start {
        out.push((
            "content-range",
            format!("bytes {start}-{}/{total}", total - 1),
        ));
    }
    if let Some(every) = s.faults.dribble_blobs {
        let stream = futures_util::stream::unfold(0usize, move |at| {
            let body = body.clone();
            async move {
                if at >= body.len() {
                    return None;
                }
                tokio::time::sleep(every).await;
                Some((Ok::<_, std::io::Error>(body.slice(at..at + 1)), at + 1))
            }
        });
        return respond(status, &out, Body::from_stream(stream));
    }
    if s.faults.cut_blob_gets > 0 && body.len() > 1 {
        s.faults.cut_blob_gets -= 1;
        let half = body.slice(..body.len() / 2);
        // The half goes out before the connection breaks, as when a proxy drops it.
        let stream = futures_util::stream::unfold(Some(half), |half| async move {
            match half {
                Some(half) => Some((Ok(half), None)),
                None => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "connection cut",
                        )),
                        None,
                    ))
                }
            }
        });
        return respond(status, &out, Body::from_stream(stream));
    }
    respond(status, &out, body)
}

fn manifests(
    s: &mut Inner,
    method: &Method,
    repository: &str,
    reference: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let digest = if reference.starts_with("sha256:") {
        Some(reference.to_string())
    } else {
        s.tags.get(&format!("{repository}:{reference}")).cloned()
    };
    match *method {
        Method::PUT => {
            if let Some((status, body)) = &s.faults.manifest_put_error {
                return respond(
                    StatusCode::from_u16(*status).unwrap(),
                    &[("content-type", "application/json".into())],
                    body.clone(),
                );
            }
            let digest = packctl::oci::Digest::of(&body).to_string();
            let media = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let subject = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|m| Some(m.get("subject")?.get("digest")?.as_str()?.to_string()));
            s.manifests
                .insert(format!("{repository}@{digest}"), (media, body));
            if !reference.starts_with("sha256:") {
                s.tags
                    .insert(format!("{repository}:{reference}"), digest.clone());
            }
            let mut out = vec![("docker-content-digest", digest)];
            if s.faults.referrers_api
                && let Some(subject) = subject
            {
                out.push(("oci-subject", subject));
            }
            respond(StatusCode::CREATED, &out, "")
        }
        Method::GET | Method::HEAD => {
            let Some((media, bytes)) = digest
                .as_ref()
                .and_then(|d| s.manifests.get(&format!("{repository}@{d}")).cloned())
            else {
                return error(
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                    "manifest unknown",
                );
            };
            let len = bytes.len().to_string();
            let body = if *method == Method::HEAD {
                Bytes::new()
            } else {
                bytes
            };
            respond(
                StatusCode::OK,
                &[
                    ("content-type", media),
                    ("content-length", len),
                    ("docker-content-digest", digest.unwrap()),
                ],
                body,
            )
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "unsupported"),
    }
}

/// The referrers API: every stored manifest of `repository` whose subject is `subject`.
fn referrers(s: &Inner, repository: &str, subject: &str, query: &str) -> Response {
    let wanted = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("artifactType="))
        .map(|v| v.replace("%2B", "+").replace("%2F", "/"));
    let mut manifests = Vec::new();
    let mut keys: Vec<&String> = s.manifests.keys().collect();
    keys.sort();
    for key in keys {
        let Some(digest) = key.strip_prefix(&format!("{repository}@")) else {
            continue;
        };
        let (media, bytes) = &s.manifests[key];
        let Ok(m) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            continue;
        };
        if m.pointer("/subject/digest").and_then(|d| d.as_str()) != Some(subject) {
            continue;
        }
        let artifact_type = m
            .get("artifactType")
            .or_else(|| m.pointer("/config/mediaType"))
            .cloned()
            .unwrap_or_default();
        if wanted
            .as_deref()
            .is_some_and(|w| artifact_type.as_str() != Some(w))
        {
            continue;
        }
        manifests.push(serde_json::json!({
            "mediaType": media,
            "digest": digest,
            "size": bytes.len(),
            "artifactType": artifact_type,
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut out = vec![(
        "content-type",
        "application/vnd.oci.image.index.v1+json".to_string(),
    )];
    if wanted.is_some() {
        out.push(("oci-filters-applied", "artifactType".to_string()));
    }
    respond(StatusCode::OK, &out, index.to_string())
}

fn uploads(
    s: &mut Inner,
    method: &Method,
    rest: &str,
    upload: &str,
    query: &str,
    body: Bytes,
) -> Response {
    let repository = rest.split("/blobs/uploads/").next().unwrap();
    match *method {
        Method::POST => {
            let param = |name: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .map(|v| v.replace("%3A", ":"))
            };
            if let Some(digest) = param("mount") {
                if s.faults.refuse_mounts {
                    return error(StatusCode::BAD_REQUEST, "UNSUPPORTED", "no mounts here");
                }
                if s.blobs.contains_key(&digest) {
                    return respond(
                        StatusCode::CREATED,
                        &[
                            ("location", format!("/v2/{repository}/blobs/{digest}")),
                            ("docker-content-digest", digest.clone()),
                        ],
                        "",
                    );
                }
            }
            if let (Some(digest), Some(status)) = (param("digest"), s.faults.post_whole) {
                if status != 201 {
                    return error(
                        StatusCode::from_u16(status).unwrap(),
                        "UNSUPPORTED",
                        "no single-request uploads here",
                    );
                }
                if packctl::oci::Digest::of(&body).to_string() != digest {
                    return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "digest mismatch");
                }
                s.blobs.insert(digest.clone(), body);
                return respond(
                    StatusCode::CREATED,
                    &[
                        ("location", format!("/v2/{repository}/blobs/{digest}")),
                        ("docker-content-digest", digest),
                    ],
                    "",
                );
            }
            if let Some(hook) = s.faults.on_first_upload.take() {
                hook();
            }
            s.next_upload += 1;
            let id = format!("u{}", s.next_upload);
            s.uploads.insert(id.clone(), Vec::new());
            // Like the distribution registry, the session URL carries opaque state.
            let base = s.faults.upload_base.clone().unwrap_or_default();
            respond(
                StatusCode::ACCEPTED,
                &[(
                    "location",
                    format!("{base}/v2/{repository}/blobs/uploads/{id}?_state=opaque-{id}-state"),
                )],
                "",
            )
        }
        Method::PATCH => {
            if s.faults.fail_patches > 0 && s.uploads.get(upload).is_some_and(|d| !d.is_empty()) {
                s.faults.fail_patches -= 1;
                s.uploads.remove(upload);
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "connection to storage lost",
                );
            }
            let Some(data) = s.uploads.get_mut(upload) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "BLOB_UPLOAD_UNKNOWN",
                    "upload unknown",
                );
            };
            data.extend_from_slice(&body);
            respond(
                StatusCode::ACCEPTED,
                &[(
                    "location",
                    format!("/v2/{repository}/blobs/uploads/{upload}"),
                )],
                "",
            )
        }
        Method::PUT => {
            if s.faults.fail_puts > 0 {
                s.faults.fail_puts -= 1;
                s.uploads.remove(upload);
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "storage backend hiccup",
                );
            }
            let Some(mut data) = s.uploads.remove(upload) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "BLOB_UPLOAD_UNKNOWN",
                    "upload unknown",
                );
            };
            data.extend_from_slice(&body);
            let digest = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("digest="))
                .unwrap_or("")
                .replace("%3A", ":");
            let actual = packctl::oci::Digest::of(&data).to_string();
            if actual != digest {
                return error(
                    StatusCode::BAD_REQUEST,
                    "DIGEST_INVALID",
                    "provided digest did not match uploaded content",
                );
            }
            s.blobs.insert(digest.clone(), Bytes::from(data));
            respond(
                StatusCode::CREATED,
                &[("docker-content-digest", digest)],
                "",
            )
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "unsupported"),
    }
}
