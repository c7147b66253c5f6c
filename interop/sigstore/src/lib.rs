//! Test-only crate: its tests check packctl's cosign signatures against sigstore-rs, the
//! Sigstore project's Rust library, in both directions. It is a separate crate so that
//! sigstore-rs and its dependencies stay out of packctl's own build.
