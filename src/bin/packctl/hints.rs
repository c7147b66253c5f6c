//! Every hint the command line prints: how to fix an error, in terms of packctl's commands,
//! flags and environment variables. The library's errors are data; the advice is here.

use packctl::artifact::ArtifactError;
use packctl::auth::CredentialError;
use packctl::content::{BodyError, RegistryErrorEntry, StoreError, is_certificate_error};
use packctl::error::Error;
use packctl::oci::LocationError;
use packctl::pack::PackError;
use packctl::sign::SignError;
use std::error::Error as StdError;

/// A hint that says how to fix `error`, when there is one for it.
///
/// [`crate::diagnostics`] calls this on each error of a chain, so a hint for a cause deep
/// inside still reaches the user.
pub fn for_error(error: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<Error>() {
        return error_hint(e);
    }
    if let Some(e) = error.downcast_ref::<PackError>() {
        return pack(e);
    }
    if let Some(e) = error.downcast_ref::<StoreError>() {
        return store(e);
    }
    if let Some(e) = error.downcast_ref::<LocationError>() {
        return location(e);
    }
    if let Some(e) = error.downcast_ref::<SignError>() {
        return sign(e);
    }
    if let Some(e) = error.downcast_ref::<CredentialError>() {
        return credential(e);
    }
    if let Some(e) = error.downcast_ref::<crate::commands::registry::LoginError>() {
        return e.hint();
    }
    if let Some(e) = error.downcast_ref::<crate::commands::config::ConfigError>() {
        return e.hint();
    }
    if error.is::<crate::commands::BadSavedFormat>() {
        return Some("packctl config set format archive (or structured)".into());
    }
    if error.is::<crate::commands::Declined>() {
        return Some("pass -y to delete without being asked".into());
    }
    if error.is::<crate::commands::NoServer>() {
        return Some(format!(
            "pass -r oci:./packs for a folder, or -r HOST for a registry (or set {}, or \
             save one: packctl config set registry HOST)",
            packctl::env::EnvVars::PACKCTL_REGISTRY
        ));
    }
    None
}

/// How to fix an operation's error.
pub fn error_hint(error: &Error) -> Option<String> {
    match error {
        Error::Pack(e) => pack(e),
        Error::Store(e) => store(e),
        Error::Artifact(ArtifactError::Limit {
            what: "unpacked bytes",
            ..
        }) => Some(format!(
            "if you trust the artifact, raise the cap: {}=N packctl pack pull …",
            packctl::env::EnvVars::PACKCTL_MAX_UNPACKED_BYTES
        )),
        Error::Artifact(ArtifactError::Deferred { .. }) => Some(
            "the store lost the layer during the push; push again, and the layer is compressed anew"
                .into(),
        ),
        Error::Artifact(_) => Some(
            "the artifact is damaged or was not made for packs; nothing was written".into(),
        ),
        Error::Reference(e) if e.reason.contains("names no version") => Some(
            "write NAME:VERSION or NAME@sha256:…; `packctl pack ls -n NAME` lists the versions".into(),
        ),
        Error::Reference(e) if e.reason.contains("names no tag") => Some(
            "write NAME:TAG; `packctl pack ls -n NAME` lists the tags".into(),
        ),
        Error::Reference(_) => Some("write NAME, NAME:VERSION or NAME@sha256:…".into()),
        Error::Sign(e) => sign(e),
        Error::TagExists { .. } => Some(
            "pass -f to overwrite it, or raise `version` in pack.json to push a new version"
                .into(),
        ),
        Error::NoVersions { .. } => Some("`packctl pack ls` lists the packs there".into()),
        Error::Mirror { .. } => Some(
            "run the command again when the registries are back: it sends only what is missing; `packctl pack images` shows what each image resolves to".into(),
        ),
        Error::TargetExists { .. } => {
            Some("choose a new folder, or remove the existing one first".into())
        }
        Error::BadManifest { .. } => None,
        Error::PullLimit {
            reference, setting, ..
        } => Some(format!(
            "if you trust {reference}, raise the cap: {setting}=N packctl pack pull …"
        )),
        Error::BadConfig { .. } => Some(
            "the artifact was not made by packctl or `oras push`, or was changed since; nothing was written"
                .into(),
        ),
        // A transport failure has its own hint (a stall, a broken connection).
        Error::ConfigUnreadable { source, .. } => error_hint(source).or_else(|| {
            Some(
                "the store lacks the config blob or holds a damaged copy; push the pack again"
                    .into(),
            )
        }),
        Error::PulledInvalid { .. } => Some(
            "pass --no-validate to write it anyway, and `packctl pack validate` it there"
                .into(),
        ),
        Error::BadEpoch { .. } => Some("unset it, or set it to `date +%s` output".into()),
        Error::ChangedWhilePushed { .. } => Some(
            "something wrote to the pack folder during the push; push again once nothing does (the tag was not moved)".into(),
        ),
        Error::Io { .. } => None,
        Error::ManifestTooLarge { .. } => Some(
            "every file is a layer: put many small files in a folder named in `ansibleRoles` (packed as one layer), or push with --format archive (one layer for the whole pack); nothing was uploaded"
                .into(),
        ),
        _ => None,
    }
}

/// How to fix a store's error.
pub fn store(error: &StoreError) -> Option<String> {
    match error {
        StoreError::Location(e) => location(e),
        StoreError::NotLayout { .. } => Some(
            "an `oci:` store holds one OCI image layout per repository (oci-layout, index.json and blobs/ as regular files); point -r at its root, or copy the pack again from a good source".into(),
        ),
        StoreError::NotFound { .. } => {
            Some("check the name and version; `packctl pack ls` lists what is there".into())
        }
        StoreError::InvalidTag { .. } => Some(
            "tags are letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`"
                .into(),
        ),
        StoreError::Damaged { location, .. } if location.starts_with("oci-archive:") => Some(
            "the file was altered or damaged on its way, and nothing was pushed; export it again, and compare its `sha256sum` on both sides".into(),
        ),
        StoreError::NoStore { location } => Some(format!(
            "check the path; `packctl pack push DIR -r {location}` makes the store"
        )),
        StoreError::BadArchive { reason, .. } if reason.contains("no repository") => Some(
            "give the repository its tags belong to with `--repository REPOSITORY`".into(),
        ),
        StoreError::BadArchive { .. } => Some(
            "give a file that `packctl pack export`, `oras backup` or `skopeo copy … oci-archive:FILE` wrote (an uncompressed tar); export it again if it was cut short".into(),
        ),
        StoreError::Damaged { .. } => {
            Some("the store's copy is damaged or was tampered with; push the pack again".into())
        }
        StoreError::UntrustedCertificate { given: true, registry, .. } => Some(format!(
            "the certificate {registry} shows is neither one of the certificates given (--ca-file, certs.d/{registry}/*.crt) nor signed by them, or does not name {registry} or is out of date; check `openssl s_client -connect {registry} -showcerts`, or skip verification with -i"
        )),
        StoreError::UntrustedCertificate { .. } => Some(
            "the registry's TLS certificate is not trusted: give its CA (or the self-signed certificate itself) with --ca-file PEM, or put it in certs.d/HOST/ca.crt, or skip verification with -i"
                .into(),
        ),
        StoreError::TlsSetup { .. } => Some(
            "--ca-file and certs.d/HOST/*.crt take PEM certificates (the registry's CA or its own certificate); certs.d/HOST/client.cert and client.key take a PEM client certificate and key"
                .into(),
        ),
        StoreError::RedirectRefused { registry, .. } => Some(format!(
            "packctl sends the credentials of {registry} to {registry} only, so the host it redirects to must accept the redirect as it is (a signed URL); ask the registry's operator"
        )),
        StoreError::PlainHttpToHttps { .. } => Some(
            "drop --plain-http (and plainHttp from a saved default registry): this registry has TLS".into(),
        ),
        StoreError::Stalled { .. }
        | StoreError::Interrupted { source: BodyError::Stalled(_), .. } => Some(format!(
            "the registry or the network is stuck, and packctl retried; try again later, or raise {} (seconds) for a slow link",
            packctl::env::EnvVars::PACKCTL_STALL_TIMEOUT
        )),
        StoreError::Interrupted { .. } => Some(
            "the connection kept breaking, and packctl resumed the download as often as its retries allow; try again later".into(),
        ),
        StoreError::Connect { source, .. } if is_certificate_error(source) => Some(
            "the registry's TLS certificate is not trusted: give its CA with --ca-file CA.pem (or put it in certs.d/HOST/ca.crt), or skip verification with -i"
                .into(),
        ),
        StoreError::Connect { .. } => Some(
            "check the host and port; a registry without TLS needs --plain-http (loopback hosts fall back to HTTP by themselves)"
                .into(),
        ),
        StoreError::Unauthorized { registry, anonymous: true, .. } => {
            Some(format!("log in first: packctl registry login {registry}"))
        }
        StoreError::Unauthorized { registry, .. } => Some(format!(
            "check the user name and password; packctl registry login {registry} replaces them"
        )),
        StoreError::Registry { status, errors, registry, .. } => registry_error(*status, errors, registry),
        StoreError::Credentials { source, .. } => credential(source),
        StoreError::NoCatalog { .. } => Some(
            "this registry (ECR and GHCR among them) keeps its catalog private; name the pack with -n NAME".into(),
        ),
        StoreError::TagRace { .. } => Some(
            "two writers pushed this tag at the same time and the other one won (a registry cannot refuse a tag write atomically); `packctl pack inspect` shows what it holds; push again, with -f to replace it".into(),
        ),
        StoreError::TagContended { .. } => {
            Some("other writers changed it at the same time; run the command again".into())
        }
        _ => None,
    }
}

/// How to fix a `-r` value that names no store.
pub fn location(error: &LocationError) -> Option<String> {
    match error {
        LocationError::BadLocation { .. } => {
            Some("give `oci:PATH` for a folder, or `host[:port][/base/path]` for a registry".into())
        }
        LocationError::UrlScheme {
            scheme: "http://",
            rest,
            ..
        } => Some(format!(
            "write -r {rest} --plain-http for a registry without TLS"
        )),
        LocationError::UrlScheme { rest, .. } => Some(format!(
            "write -r {rest} for the registry, or -r oci:./FOLDER for OCI image layouts in a folder"
        )),
        _ => None,
    }
}

fn registry_error(status: u16, errors: &[RegistryErrorEntry], registry: &str) -> Option<String> {
    let has = |code: &str| errors.iter().any(|e| e.code == code);
    let text = errors
        .iter()
        .map(|e| format!("{} {}", e.code, e.message).to_lowercase())
        .collect::<String>();
    if text.contains("immutable") || (has("TAG_INVALID") && text.contains("already exists")) {
        return Some(
            "the registry keeps this tag immutable and will not overwrite it, even with -f; push a new version".into(),
        );
    }
    if has("NAME_UNKNOWN") {
        return Some(format!(
            "the repository does not exist, and {registry} does not create it on push: on ECR run `aws ecr create-repository --repository-name REPOSITORY`; on Harbor create the project (the first path component) first"
        ));
    }
    if has("DENIED") || status == 403 {
        return Some(
            "the account has no permission for this repository; ask its owner for access".into(),
        );
    }
    if has("UNSUPPORTED") || status == 405 {
        return Some(
            "the registry does not allow this operation; for deletions the distribution registry needs storage.delete.enabled: true"
                .into(),
        );
    }
    if has("MANIFEST_BLOB_UNKNOWN") || has("BLOB_UNKNOWN") {
        return Some("the registry lacks a blob the manifest names; push again".into());
    }
    if status >= 500 {
        return Some("the registry failed; packctl retried with backoff; try again later".into());
    }
    None
}

/// How to fix a pack folder's error.
pub fn pack(error: &PackError) -> Option<String> {
    match error {
        // Every error was printed above it; validate adds the warnings.
        PackError::Invalid { dir, .. } => Some(format!(
            "fix the errors above and run the command again; `packctl pack validate {}` also lists the warnings",
            dir.display()
        )),
        PackError::WouldOverwrite { .. } => {
            Some("choose a new folder, or move the existing files away".to_string())
        }
        // Reasons that say what to pass are their own hint.
        PackError::Chart { reason, .. } if reason.contains("pass --") => None,
        PackError::Chart { .. } => Some(
            "--from-chart takes a chart .tgz (as `helm package` makes it), a chart folder with \
             Chart.yaml, oci://HOST/REPOSITORY:VERSION, or an https:// link to a .tgz"
                .to_string(),
        ),
        _ => None,
    }
}

/// How to fix a key's or a signature's error.
pub fn sign(error: &SignError) -> Option<String> {
    Some(match error {
        SignError::WrongPassword { .. } => {
            "give the password the key was made with, in COSIGN_PASSWORD or at the prompt".into()
        }
        SignError::NoPassword => "set COSIGN_PASSWORD (it may be empty)".into(),
        SignError::Exists { .. } => "pass --force to replace it, or choose another --output-key-prefix".into(),
        SignError::Key { .. } => {
            "use a key from `packctl key generate` or `cosign generate-key-pair`".into()
        }
        SignError::NoSignatures { .. } => {
            "sign it with `packctl pack sign REF --key cosign.key`; a version pushed again with -f needs a new signature".into()
        }
        SignError::DigestMismatch { .. } => {
            "the tag was moved after it was signed; do not trust it until it is signed again".into()
        }
        SignError::NotVerified { count, skipped, .. } if skipped.len() == *count => {
            "the signature manifest was damaged or altered; do not trust the pack until it is signed again".into()
        }
        SignError::NotVerified { .. } => {
            "the pack was signed with another key, or a signature was altered; do not trust it".into()
        }
        _ => return None,
    })
}

/// How to fix a credential store's error.
pub fn credential(error: &CredentialError) -> Option<String> {
    match error {
        CredentialError::NoConfigDir => {
            Some("set DOCKER_CONFIG to a folder for config.json".into())
        }
        CredentialError::Malformed { .. } => {
            Some("fix the JSON, or move the file away and log in again".into())
        }
        CredentialError::Helper { helper, .. } => Some(format!(
            "check that docker-credential-{helper} is installed and works, or remove it from the Docker config"
        )),
        CredentialError::Read { .. } | CredentialError::Write { .. } => {
            Some("check the permissions of the Docker config folder".into())
        }
        _ => None,
    }
}
