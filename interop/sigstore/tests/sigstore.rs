//! packctl and sigstore-rs verify each other's cosign signatures on a real registry.

#[path = "../../../tests/common/registry.rs"]
#[allow(dead_code)]
mod registry;

use packctl::oci::Location;
use packctl::oci::PackRef;
use packctl::ops::Located;
use packctl::ops::sign;
use packctl::registry::TransportOptions;
use packctl::sign::keys;
use packctl::store::{OpenOptions, Store};
use registry::Registry;
use sigstore::cosign::constraint::{Constraint, PrivateKeySigner};
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraint};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, SignatureLayer, verify_constraints};
use sigstore::crypto::{SigningScheme, signing_key::SigStoreKeyPair};
use sigstore::registry::{Auth, ClientConfig, ClientProtocol, OciReference};
use std::path::PathBuf;
use std::str::FromStr;

/// The key the real cosign generated, with an empty password.
fn cosign_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/cosign/cosign_generated_encrypted_empty_private.key")
}

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/packs")
        .join(name)
}

fn store(registry: &Registry) -> Store {
    Store::open_blocking(
        &Location::Registry {
            host: registry.host.clone(),
            base: String::new(),
        },
        &{
            let mut transport = TransportOptions::default();
            transport.plain_http = true;
            let mut options = OpenOptions::default();
            options.transport = transport;
            options
        },
    )
    .unwrap()
}

async fn push(store: &Store, name: &str) -> packctl::oci::Digest {
    let reporter: packctl::progress::SharedReporter =
        std::sync::Arc::new(packctl::progress::Silent);
    packctl::ops::push(
        store,
        &sample(name),
        &packctl::ops::PushOptions::default(),
        &reporter,
    )
    .await
    .unwrap()
    .digest
}

fn sigstore_client() -> sigstore::cosign::Client {
    ClientBuilder::default()
        .with_oci_client_config(ClientConfig {
            protocol: ClientProtocol::Http,
            ..ClientConfig::default()
        })
        .build()
        .unwrap()
}

fn located(store: &Store, reference: &str) -> Located {
    Located::pack(store, &PackRef::from_str(reference).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigstore_verifies_what_packctl_signs() {
    let registry = Registry::plain();
    let store = store(&registry);
    let digest = push(&store, "hello-chart").await;

    let dir = tempfile::tempdir().unwrap();
    let key = keys::generate();
    let public_pem = keys::public_key_pem(key.verifying_key());
    std::fs::write(dir.path().join("cosign.pub"), &public_pem).unwrap();
    let signed = sign::sign(&store, &located(&store, "hello-chart:0.1.0"), &key)
        .await
        .unwrap();
    assert!(signed.added);

    let image = OciReference::from_str(&format!(
        "{}/spectro-packs/archive/hello-chart:0.1.0",
        registry.host
    ))
    .unwrap();
    let mut client = sigstore_client();
    let layers = client
        .trusted_signature_layers(&Auth::Anonymous, &image)
        .await
        .unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]
            .simple_signing
            .critical
            .image
            .docker_manifest_digest,
        digest.as_str()
    );
    let verifier: Box<dyn VerificationConstraint> = Box::new(
        PublicKeyVerifier::new(
            public_pem.as_bytes(),
            &SigningScheme::ECDSA_P256_SHA256_ASN1,
        )
        .unwrap(),
    );
    let constraints = [verifier];
    verify_constraints(&layers, constraints.iter())
        .expect("sigstore-rs accepts packctl's signature");

    // Another key does not verify it, in sigstore-rs either.
    let other = keys::public_key_pem(keys::generate().verifying_key());
    let verifier: Box<dyn VerificationConstraint> = Box::new(
        PublicKeyVerifier::new(other.as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap(),
    );
    let constraints = [verifier];
    assert!(verify_constraints(&layers, constraints.iter()).is_err());

    // The key cosign generated signs through packctl too, and sigstore-rs accepts that.
    let fixture = keys::load_private_key(&cosign_fixture(), || Ok(Vec::new())).unwrap();
    sign::sign(&store, &located(&store, "hello-chart:0.1.0"), &fixture)
        .await
        .unwrap();
    let layers = client
        .trusted_signature_layers(&Auth::Anonymous, &image)
        .await
        .unwrap();
    assert_eq!(layers.len(), 2, "a second signer adds a layer");
    let pem = std::fs::read(cosign_fixture()).unwrap();
    let pair = SigStoreKeyPair::from_encrypted_pem(&pem, b"").unwrap();
    let fixture_public = pair.public_key_to_pem().unwrap();
    for public in [public_pem.as_str(), fixture_public.as_str()] {
        let verifier: Box<dyn VerificationConstraint> = Box::new(
            PublicKeyVerifier::new(public.as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
                .unwrap(),
        );
        let constraints = [verifier];
        verify_constraints(&layers, constraints.iter()).expect("both signatures verify");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn packctl_verifies_what_sigstore_signs_with_the_cosign_key() {
    let registry = Registry::plain();
    let store = store(&registry);
    let digest = push(&store, "golden-centos-aws").await;

    // sigstore-rs loads the key the real cosign made (empty password) and signs the pack.
    let pem = std::fs::read(cosign_fixture()).unwrap();
    let pair = SigStoreKeyPair::from_encrypted_pem(&pem, b"").unwrap();
    let signer = pair
        .to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1)
        .unwrap();
    let image = OciReference::from_str(&format!(
        "{}/spectro-packs/archive/golden-centos-aws:7.7.1908",
        registry.host
    ))
    .unwrap();
    let mut layer = SignatureLayer::new_unsigned(&image, digest.as_str()).unwrap();
    assert!(
        PrivateKeySigner::new_with_signer(signer)
            .add_constraint(&mut layer)
            .unwrap()
    );
    let mut client = sigstore_client();
    let (cosign_image, _) = client.triangulate(&image, &Auth::Anonymous).await.unwrap();
    client
        .push_signature(None, &Auth::Anonymous, &cosign_image, vec![layer])
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("cosign.pub");
    std::fs::write(&public, pair.public_key_to_pem().unwrap()).unwrap();
    let key = keys::load_public_key(&public).unwrap();
    let verified = sign::verify(
        &store,
        &located(&store, "golden-centos-aws:7.7.1908"),
        &key,
        "cosign.pub",
    )
    .await
    .expect("packctl accepts sigstore-rs's signature");
    assert_eq!(verified.digest, digest);
    assert_eq!(verified.signatures, 1);

    // And refuses it for another key.
    let other = keys::generate();
    let err = sign::verify(
        &store,
        &located(&store, "golden-centos-aws:7.7.1908"),
        other.verifying_key(),
        "other.pub",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("verifies with `other.pub`"),
        "{err}"
    );
}
