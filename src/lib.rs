//! packctl turns a Palette-style pack (pack.json, values.yaml, logo.png, Helm charts,
//! Kubernetes manifests, Ansible roles) into an OCI artifact and moves it through OCI
//! registries and OCI image layouts on disk (`oci:` folders).
//!
//! The `packctl` command line is a thin layer over this library. A program embeds it with
//! `default-features = false`, which leaves out the command line's crates (clap, indicatif,
//! rpassword, anyhow); every ambient input (credentials, TLS files, timeouts) is an option.
//!
//! The layers, from the bottom (docs/architecture.md draws them):
//! - [`oci`]: digests, descriptors, manifests, media types, and every naming rule.
//! - [`auth`]: credentials and where they come from ([`auth::CredentialSource`]).
//! - [`content`]: what every store speaks: [`content::StoreError`], blob sources.
//! - [`registry`] (HTTP) and [`layout`] (`oci:` folders), behind one [`store::Store`].
//! - [`pack`] (a pack folder, validated) → [`artifact`] (its OCI encoding).
//! - [`sign`]: keys and the cosign signature format.
//! - [`ops`]: push, pull, copy, list, inspect, tag, delete, sign and verify.
//!
//! Every operation is `async` (tokio) and reports progress to a [`progress::Reporter`].
//! Errors are data ([`error::Error`]): a program matches on them; the command line renders
//! them with its hints. Events go to [`tracing`]; the library installs no subscriber.
//!
//! packctl builds on Unix: the `oci:` store locks folders with `flock` and opens files
//! without following links, and temporary files carry their owner's process id.
//!
//! # Example
//!
//! Push a pack folder to an `oci:` store and list what the store holds:
//!
//! ```
//! use packctl::ops::{PushOptions, list, push};
//! use packctl::progress::{SharedReporter, Silent};
//! use packctl::store::{OpenOptions, Store};
//! use std::sync::Arc;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let store_path = dir.path().join("packs");
//! # let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/packs/hello-chart");
//! let location = packctl::oci::Location::parse(&format!("oci:{}", store_path.display()))?;
//! let reporter: SharedReporter = Arc::new(Silent);
//!
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let store = Store::open(&location, &OpenOptions::default()).await?;
//!     let pushed = push(&store, &pack, &PushOptions::default(), &reporter).await?;
//!     println!("{}@{}", pushed.reference, pushed.digest);
//!
//!     let packs = list(&store, None).await?;
//!     assert_eq!(packs[0].name, "hello-chart");
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod artifact;
pub mod auth;
pub mod content;
pub mod env;
pub mod error;
pub mod layout;
pub mod oci;
pub mod ops;
pub mod pack;
pub mod progress;
pub mod registry;
pub mod scratch;
pub mod sign;
pub mod store;
