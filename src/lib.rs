//! packctl turns a Palette-style pack (pack.json, values.yaml, logo.png, Helm charts,
//! Kubernetes manifests, Ansible roles) into an OCI artifact and moves it through OCI
//! registries and OCI image layouts on disk.
//!
//! The command-line tool is a thin layer over this library: [`pack`] loads and validates a
//! pack folder.
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
