//! Cosign key files: an ECDSA P-256 key pair, the private half encrypted as cosign does
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt, then NaCl secretbox, around PKCS#8), the public
//! half as a `PUBLIC KEY` PEM.

use super::SignError;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The PEM label cosign writes.
pub const ENCRYPTED_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The label of keys from older cosign releases.
const OLD_ENCRYPTED_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// cosign's scrypt cost: N = 2^16, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 16;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[allow(non_snake_case)]
struct ScryptParams {
    N: u64,
    r: u32,
    p: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], String> {
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|e| format!("its scrypt parameters are unusable: {e}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).map_err(|e| format!("scrypt failed: {e}"))?;
    Ok(key)
}

/// A new random P-256 signing key.
pub fn generate() -> SigningKey {
    loop {
        // A random 32-byte string is a valid scalar but for a 2^-128 chance; then draw again.
        if let Ok(key) = SigningKey::from_slice(&random_bytes::<32>()) {
            return key;
        }
    }
}

/// The private key as cosign writes it, encrypted with `password`.
pub fn encrypt_private_key(key: &SigningKey, password: &[u8]) -> String {
    let der = key.to_pkcs8_der().expect("a P-256 key encodes as PKCS#8");
    let salt = random_bytes::<32>();
    let nonce = random_bytes::<24>();
    let secret = derive_key(password, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
        .expect("cosign's parameters are valid");
    let cipher = XSalsa20Poly1305::new(&secret.into());
    let ciphertext = cipher
        .encrypt(&Nonce::from(nonce), der.as_bytes())
        .expect("secretbox encryption does not fail");
    let envelope = Envelope {
        kdf: Kdf {
            name: "scrypt".into(),
            params: ScryptParams {
                N: 1 << SCRYPT_LOG_N,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: b64().encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: b64().encode(nonce),
        },
        ciphertext: b64().encode(ciphertext),
    };
    let json = serde_json::to_vec(&envelope).expect("the envelope serialises");
    pem_rfc7468::encode_string(ENCRYPTED_LABEL, pem_rfc7468::LineEnding::LF, &json)
        .expect("PEM encodes")
}

/// The public key as a `PUBLIC KEY` PEM.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("a P-256 key encodes as SPKI")
}

/// Reads a private key: cosign's encrypted PEM (with `password`), or an unencrypted PKCS#8
/// `PRIVATE KEY` PEM.
pub fn load_private_key(
    path: &Path,
    password: impl FnOnce() -> Result<Vec<u8>, SignError>,
) -> Result<SigningKey, SignError> {
    let bad = |reason: String| SignError::Key {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| SignError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (label, body) = pem_rfc7468::decode_vec(text.trim().as_bytes())
        .map_err(|e| bad(format!("it is not a PEM file: {e}")))?;
    match label {
        ENCRYPTED_LABEL | OLD_ENCRYPTED_LABEL => {
            let envelope: Envelope = serde_json::from_slice(&body)
                .map_err(|e| bad(format!("its encrypted key is not cosign's JSON: {e}")))?;
            if envelope.kdf.name != "scrypt" || envelope.cipher.name != "nacl/secretbox" {
                return Err(bad(format!(
                    "it uses {} and {}; packctl reads scrypt and nacl/secretbox keys",
                    envelope.kdf.name, envelope.cipher.name
                )));
            }
            let n = envelope.kdf.params.N;
            if !n.is_power_of_two() || n < 2 {
                return Err(bad(format!("its scrypt N = {n} is not a power of two")));
            }
            let decode = |field: &str, text: &str| {
                b64()
                    .decode(text)
                    .map_err(|e| bad(format!("its {field} is not base64: {e}")))
            };
            let salt = decode("salt", &envelope.kdf.salt)?;
            let nonce: [u8; 24] = decode("nonce", &envelope.cipher.nonce)?
                .try_into()
                .map_err(|_| bad("its nonce is not 24 bytes".into()))?;
            let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
            let password = password()?;
            let secret = derive_key(
                &password,
                &salt,
                n.trailing_zeros() as u8,
                envelope.kdf.params.r,
                envelope.kdf.params.p,
            )
            .map_err(bad)?;
            let cipher = XSalsa20Poly1305::new(&secret.into());
            let der = cipher
                .decrypt(&Nonce::from(nonce), ciphertext.as_slice())
                .map_err(|_| SignError::WrongPassword {
                    path: path.to_path_buf(),
                })?;
            SigningKey::from_pkcs8_der(&der)
                .map_err(|e| bad(format!("it does not hold an ECDSA P-256 key: {e}")))
        }
        "PRIVATE KEY" => SigningKey::from_pkcs8_der(&body)
            .map_err(|e| bad(format!("it does not hold an ECDSA P-256 key: {e}"))),
        other => Err(bad(format!(
            "its PEM label is `{other}`, not `{ENCRYPTED_LABEL}` (cosign generate-key-pair) or `PRIVATE KEY`"
        ))),
    }
}

/// Reads a `PUBLIC KEY` PEM holding an ECDSA P-256 key.
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, SignError> {
    let text = std::fs::read_to_string(path).map_err(|source| SignError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.contains("PRIVATE KEY-----") {
        return Err(SignError::Key {
            path: path.to_path_buf(),
            reason: "it is a private key; verifying takes the public key (cosign.pub)".into(),
        });
    }
    VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| SignError::Key {
        path: path.to_path_buf(),
        reason: format!("it is not an ECDSA P-256 `PUBLIC KEY` PEM: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_keys_round_trip_and_refuse_wrong_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate();
        let path = dir.path().join("k.key");
        std::fs::write(&path, encrypt_private_key(&key, b"pw")).unwrap();
        let loaded = load_private_key(&path, || Ok(b"pw".to_vec())).unwrap();
        assert_eq!(loaded.to_bytes(), key.to_bytes());
        let err = load_private_key(&path, || Ok(b"nope".to_vec())).unwrap_err();
        assert!(matches!(err, SignError::WrongPassword { .. }), "{err}");

        let pub_path = dir.path().join("k.pub");
        std::fs::write(&pub_path, public_key_pem(key.verifying_key())).unwrap();
        assert_eq!(&load_public_key(&pub_path).unwrap(), key.verifying_key());
        assert!(load_public_key(&path).is_err());
    }
}
