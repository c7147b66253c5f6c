//! Fetching a Helm chart for `pack init --from-chart`: a `.tgz` or chart folder on disk, an
//! `oci://` chart reference (a Helm OCI artifact), or an `https://` link to a `.tgz`.

use super::{Located, parse_manifest, resolve};
use crate::error::Error;
use crate::oci::digest::copy_verified;
use crate::oci::{FullRef, media_type};
use crate::pack::PackError;
use crate::pack::chart::{Chart, MAX_CHART_BYTES, load_chart, load_chart_archive};
use crate::registry::client::Client;
use crate::registry::{RetryPolicy, TransportOptions};
use crate::store::{OpenOptions, Store};
use futures_util::StreamExt;
use std::path::Path;

fn chart_error(chart: &str, reason: impl Into<String>) -> Error {
    Error::Pack(PackError::Chart {
        chart: chart.to_string(),
        reason: reason.into(),
    })
}

/// Reads the chart `source` names. A folder or file is read on a blocking thread; an
/// `oci://` reference is pulled with `options` (credentials and transport) and its chart
/// layer checked against its digest; an `https://` link is fetched anonymously. Every
/// download stops at [`MAX_CHART_BYTES`].
pub async fn fetch_chart(source: &str, options: &OpenOptions) -> Result<Chart, Error> {
    if let Some(rest) = source.strip_prefix("oci://") {
        return from_registry(source, rest, options).await;
    }
    if source.starts_with("https://") || source.starts_with("http://") {
        return from_url(source, &options.transport).await;
    }
    let path = Path::new(source).to_path_buf();
    let label = source.to_string();
    crate::content::off_worker(&label, move || load_chart(&path).map_err(Error::from)).await
}

async fn from_registry(source: &str, rest: &str, options: &OpenOptions) -> Result<Chart, Error> {
    let full = match FullRef::parse(rest) {
        Some(parsed) => parsed?,
        None => {
            return Err(chart_error(
                source,
                "write oci://HOST[:PORT]/REPOSITORY:VERSION, as `helm pull` takes it",
            ));
        }
    };
    let store = Store::open(&full.location, options).await?;
    let located = Located::full(&full);
    let resolved = resolve(&store, &located).await?;
    let bytes = store
        .fetch_manifest(&resolved.repository, &resolved.descriptor.digest)
        .await?;
    let manifest = parse_manifest(&resolved.reference, &bytes)?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == media_type::HELM_CHART)
        .ok_or_else(|| {
            chart_error(
                source,
                format!(
                    "{} holds no layer of type {}",
                    resolved.reference,
                    media_type::HELM_CHART
                ),
            )
        })?;
    if layer.size > MAX_CHART_BYTES {
        return Err(chart_error(
            source,
            format!(
                "its chart is {} bytes, more than {MAX_CHART_BYTES}",
                layer.size
            ),
        ));
    }
    let reader = store.open_blob(&resolved.repository, layer).await?;
    let mut archive = Vec::with_capacity(layer.size as usize);
    copy_verified(reader, &mut archive, &layer.digest, layer.size)
        .await
        .map_err(|e| chart_error(source, format!("its chart layer is damaged: {e}")))?;
    let label = source.to_string();
    crate::content::off_worker(&label.clone(), move || {
        load_chart_archive(&archive, &label).map_err(Error::from)
    })
    .await
}

async fn from_url(source: &str, transport: &TransportOptions) -> Result<Chart, Error> {
    let url = reqwest::Url::parse(source).map_err(|e| chart_error(source, e.to_string()))?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return Err(chart_error(source, "the link names no host")),
    };
    if url.scheme() == "http" && !crate::registry::is_loopback(&host) && !transport.plain_http {
        return Err(chart_error(
            source,
            "plain HTTP is only used for loopback hosts or with --plain-http",
        ));
    }
    // No credential goes with the request, so a redirect to another host leaks nothing.
    let client = Client::new(
        &host,
        transport,
        crate::auth::Credential::Anonymous,
        RetryPolicy::default(),
    )?;
    let response = client
        .http()
        .get(url.clone())
        .send()
        .await
        .map_err(|e| chart_error(source, crate::registry::client::redact(e).to_string()))?;
    if !response.status().is_success() {
        return Err(chart_error(
            source,
            format!("the server answered {}", response.status()),
        ));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_CHART_BYTES)
    {
        return Err(chart_error(
            source,
            format!("it is larger than {MAX_CHART_BYTES} bytes"),
        ));
    }
    let mut archive = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| chart_error(source, e.to_string()))?;
        if archive.len() as u64 + chunk.len() as u64 > MAX_CHART_BYTES {
            return Err(chart_error(
                source,
                format!("it is larger than {MAX_CHART_BYTES} bytes"),
            ));
        }
        archive.extend_from_slice(&chunk);
    }
    let label = source.to_string();
    crate::content::off_worker(&label.clone(), move || {
        load_chart_archive(&archive, &label).map_err(Error::from)
    })
    .await
}
