//! Checking that the images a pack lists under `pack.content.images` exist in their
//! registries, as Palette's pack pipeline does before it publishes a pack.

use crate::auth::{Credential, CredentialSource};
use crate::content::{StoreError, error_chain, off_worker};
use crate::pack::{DEFAULT_REGISTRY, Finding, ListedImage, VALUES_YAML};
use crate::registry::{RegistryStore, RetryPolicy, TransportOptions};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many images are looked up at once: enough to hide the latency of remote registries,
/// few enough not to look like a flood to one of them.
pub const IMAGE_CHECK_CONCURRENCY: usize = 8;

/// The most distinct images one check looks up; a longer list is refused before any request.
pub const MAX_IMAGE_CHECKS: usize = 2_000;

/// Where Docker Hub serves the distribution API: `docker.io` names it but does not serve it.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The names Docker's config may store Docker Hub credentials under (`docker login` writes
/// `https://index.docker.io/v1/`).
const DOCKER_HUB_CREDENTIAL_HOSTS: [&str; 3] =
    ["index.docker.io", DEFAULT_REGISTRY, DOCKER_HUB_API];

/// How to reach the registries images live in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageCheckOptions {
    /// TLS and plain-HTTP settings, for every registry.
    pub transport: TransportOptions,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// How many images to look up at once ([`IMAGE_CHECK_CONCURRENCY`]).
    pub concurrency: usize,
    /// Where each registry's credential comes from; anonymous by default.
    pub credentials: Arc<dyn CredentialSource>,
}

impl Default for ImageCheckOptions {
    fn default() -> Self {
        ImageCheckOptions {
            transport: TransportOptions::default(),
            retry: RetryPolicy::default(),
            concurrency: IMAGE_CHECK_CONCURRENCY,
            credentials: Arc::new(Credential::Anonymous),
        }
    }
}

/// What a registry said about an image.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ImageStatus {
    /// Its manifest exists.
    Present,
    /// The registry has no manifest by that tag or digest (or no such repository).
    Missing,
    /// The registry refused access with the credentials at hand (or without any).
    Gated {
        /// What the registry said.
        reason: String,
    },
    /// The registry could not be asked.
    Failed(Arc<StoreError>),
}

/// One image and what its registry said.
#[derive(Debug)]
pub struct ImageCheck {
    /// The image, as values.yaml lists it.
    pub image: ListedImage,
    /// What the registry said.
    pub status: ImageStatus,
}

impl ImageCheck {
    /// The finding to report: none for a present image, a warning for a gated one, an error
    /// otherwise.
    pub fn finding(&self) -> Option<Finding> {
        let image = &self.image.image;
        let registry = &self.image.reference.registry;
        let finding = match &self.status {
            ImageStatus::Present => return None,
            ImageStatus::Missing => Finding::error(
                "image-missing",
                VALUES_YAML,
                format!(
                    "the image `{image}` does not exist: {registry} has no {}:{}",
                    self.image.reference.repository,
                    self.image.reference.reference()
                ),
            )
            .hint("check the repository and tag; push the image, or list the one the pack deploys"),
            ImageStatus::Gated { reason } => Finding::warning(
                "image-gated",
                VALUES_YAML,
                format!("the image `{image}` is gated: {registry} refused access ({reason})"),
            )
            .hint(format!(
                "run `packctl registry login {registry}` to check it; it stays listed for air-gap mirroring"
            )),
            ImageStatus::Failed(error) => Finding::error(
                "image-unreachable",
                VALUES_YAML,
                format!(
                    "the image `{image}` cannot be checked: {}",
                    error_chain(error.as_ref())
                ),
            )
            .hint(format!(
                "check that {registry} is reachable from here, or drop --check-images"
            )),
        };
        Some(finding.field("pack.content.images").at(self.image.position))
    }
}

/// Why images cannot be checked at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageCheckError {
    /// The registries could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The list is longer than [`MAX_IMAGE_CHECKS`].
    #[error("values.yaml lists {count} distinct images; an image check looks up at most {max}")]
    TooMany {
        /// Distinct images listed.
        count: usize,
        /// The cap.
        max: usize,
    },
}

/// Looks up every image in its registry, a few at once, with the credentials of the user's
/// Docker config; the checks come back in the order of `images`.
///
/// An image listed twice is looked up once.
pub async fn check_images(
    images: &[ListedImage],
    options: &ImageCheckOptions,
) -> Result<Vec<ImageCheck>, ImageCheckError> {
    let mut distinct: Vec<&ListedImage> = Vec::new();
    let mut index_of = HashMap::new();
    for image in images {
        index_of
            .entry(image.reference.to_string())
            .or_insert_with(|| {
                distinct.push(image);
                distinct.len() - 1
            });
    }
    if distinct.len() > MAX_IMAGE_CHECKS {
        return Err(ImageCheckError::TooMany {
            count: distinct.len(),
            max: MAX_IMAGE_CHECKS,
        });
    }
    let registries: Vec<String> = distinct
        .iter()
        .map(|image| image.reference.registry.clone())
        .collect();
    let opening = options.clone();
    // Credential helpers are subprocesses, and certificate files are read: off the workers.
    let stores = off_worker("the image registries", move || {
        let mut stores: HashMap<String, Result<RegistryStore, String>> = HashMap::new();
        for registry in registries {
            if let std::collections::hash_map::Entry::Vacant(entry) = stores.entry(registry) {
                let store = open_registry(entry.key(), &opening);
                entry.insert(store);
            }
        }
        Ok::<_, StoreError>(stores)
    })
    .await?;
    let stores = &stores;
    // A registry that could not be reached once is not asked again for every other image it
    // holds: each of those would wait out the same retries.
    let unreachable: Mutex<HashMap<&str, Arc<StoreError>>> = Mutex::new(HashMap::new());
    let unreachable = &unreachable;
    let mut statuses: Vec<(usize, ImageStatus)> =
        futures_util::stream::iter(distinct.iter().enumerate())
            .map(|(i, image)| async move {
                let registry = image.reference.registry.as_str();
                let known = unreachable
                    .lock()
                    .expect("not poisoned")
                    .get(registry)
                    .cloned();
                let status = match (&stores[registry], known) {
                    (_, Some(error)) => ImageStatus::Failed(error),
                    (Ok(store), None) => look_up(store, image).await,
                    (Err(reason), None) => ImageStatus::Failed(Arc::new(StoreError::Transport {
                        registry: registry.to_string(),
                        reason: reason.clone(),
                    })),
                };
                if let ImageStatus::Failed(error) = &status
                    && is_unreachable(error)
                {
                    unreachable
                        .lock()
                        .expect("not poisoned")
                        .entry(registry)
                        .or_insert_with(|| Arc::clone(error));
                }
                (i, status)
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
    statuses.sort_by_key(|(i, _)| *i);
    Ok(images
        .iter()
        .map(|image| ImageCheck {
            image: image.clone(),
            status: statuses[index_of[&image.reference.to_string()]].1.clone(),
        })
        .collect())
}

pub(crate) fn open_registry(
    registry: &str,
    options: &ImageCheckOptions,
) -> Result<RegistryStore, String> {
    let (host, credential_hosts): (&str, &[&str]) = if registry == DEFAULT_REGISTRY {
        (DOCKER_HUB_API, &DOCKER_HUB_CREDENTIAL_HOSTS)
    } else {
        (registry, std::slice::from_ref(&registry))
    };
    let mut credential = Credential::Anonymous;
    for name in credential_hosts {
        credential = options
            .credentials
            .credential(name)
            .map_err(|e| error_chain(&e))?;
        if !matches!(credential, Credential::Anonymous) {
            break;
        }
    }
    RegistryStore::new(host, "", &options.transport, credential, options.retry)
        .map_err(|e| error_chain(&e))
}

async fn look_up(store: &RegistryStore, image: &ListedImage) -> ImageStatus {
    let reference = &image.reference;
    match store
        .image_exists(&reference.repository, reference.reference())
        .await
    {
        Ok(true) => ImageStatus::Present,
        Ok(false) => ImageStatus::Missing,
        Err(StoreError::Unauthorized { reason, .. }) => ImageStatus::Gated { reason },
        Err(StoreError::Registry { status, errors, .. })
            if status == 401
                || status == 403
                || errors
                    .iter()
                    .any(|e| matches!(e.code.as_str(), "DENIED" | "UNAUTHORIZED")) =>
        {
            ImageStatus::Gated {
                reason: errors.first().map_or_else(
                    || format!("it answered {status}"),
                    |e| format!("{}: {}", e.code, e.message),
                ),
            }
        }
        Err(error) => ImageStatus::Failed(Arc::new(error)),
    }
}

/// Whether an error says the registry cannot be talked to at all, rather than something
/// about one image.
fn is_unreachable(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Connect { .. }
            | StoreError::UntrustedCertificate { .. }
            | StoreError::TlsSetup { .. }
            | StoreError::PlainHttpToHttps { .. }
            | StoreError::Transport { .. }
            | StoreError::Stalled { .. }
    )
}
