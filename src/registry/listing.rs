//! Listing: the tags of a repository and the repositories of a registry, page by page.

use super::RegistryStore;
use super::token::Scope;
use crate::content::StoreError;
use reqwest::header::LINK;
use reqwest::{Response, StatusCode};

impl RegistryStore {
    /// Every tag of a repository, following pagination; none when it does not exist.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut next = Some(format!("/v2/{repository}/tags/list?n=1000"));
        while let Some(path) = next.take() {
            let client = &self.client;
            let response = client
                .send(&Scope::pull(repository), true, |_| {
                    let url = client.url(&path);
                    async move { Ok(client.http().get(url)) }
                })
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(out);
            }
            if !response.status().is_success() {
                return Err(client
                    .error(
                        format!("list the tags of {}/{repository}", client.host()),
                        response,
                    )
                    .await);
            }
            next = next_link(&response);
            let body = client
                .read_body(response, 16 << 20)
                .await
                .map_err(|(_, e)| e)?;
            let page: Tags = serde_json::from_slice(&body)
                .map_err(|e| self.protocol_error(&format!("a tag list that is not JSON: {e}")))?;
            out.extend(page.tags.unwrap_or_default());
        }
        Ok(out)
    }

    /// Repositories whose path starts with `prefix`, from the catalog, sorted.
    pub async fn repositories(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let prefix = prefix.trim_matches('/');
        let mut out = Vec::new();
        let mut next = Some("/v2/_catalog?n=1000".to_string());
        while let Some(path) = next.take() {
            let client = &self.client;
            let response = client
                .send(&Scope::catalog(), true, |_| {
                    let url = client.url(&path);
                    async move { Ok(client.http().get(url)) }
                })
                .await?;
            if !response.status().is_success() {
                let error = client
                    .error(
                        format!("list the repositories of {}", client.host()),
                        response,
                    )
                    .await;
                // Refused credentials or the wrong protocol are not a private catalog.
                return Err(match error {
                    StoreError::Registry { .. } => StoreError::NoCatalog {
                        registry: client.host().to_string(),
                        source: Box::new(error),
                    },
                    other => other,
                });
            }
            next = next_link(&response);
            let body = client
                .read_body(response, 64 << 20)
                .await
                .map_err(|(_, e)| e)?;
            let page: Catalog = serde_json::from_slice(&body)
                .map_err(|e| self.protocol_error(&format!("a catalog that is not JSON: {e}")))?;
            out.extend(page.repositories.into_iter().filter(|r| {
                prefix.is_empty() || r == prefix || r.starts_with(&format!("{prefix}/"))
            }));
        }
        out.sort();
        Ok(out)
    }
}

/// The `rel="next"` target of a `Link` header, as a path or URL.
pub(super) fn next_link(response: &Response) -> Option<String> {
    let value = response.headers().get(LINK)?.to_str().ok()?;
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}
