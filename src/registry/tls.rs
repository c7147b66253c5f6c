//! TLS trust for registries: the system's root certificates plus the CA certificates a user
//! gives (`--ca-file`, `certs.d/HOST/*.crt`), a server certificate that is itself one of those
//! given (the self-signed certificate the distribution registry's documentation makes, which
//! curl and Docker accept), and a client certificate for mutual TLS (`certs.d/HOST/client.cert`
//! and `client.key`, as Docker reads them).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

pub use crate::content::TlsError;

/// What to trust and what to present.
#[derive(Debug, Default)]
pub struct Trust {
    /// Certificates given as CAs; a server certificate equal to one of them is trusted too.
    pub given: Vec<CertificateDer<'static>>,
    /// The client certificate chain and key for mutual TLS.
    pub client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Accept any server certificate.
    pub insecure: bool,
}

impl Trust {
    /// Adds the certificates of a PEM file; it must hold at least one.
    pub fn add_pem_file(&mut self, path: &Path) -> Result<(), TlsError> {
        let pem = read(path)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unusable(path, format!("is not a PEM certificate file: {e}")))?;
        if certs.is_empty() {
            return Err(unusable(path, "holds no PEM certificate".into()));
        }
        self.given.extend(certs);
        Ok(())
    }

    /// Reads `client.cert` and `client.key` of a `certs.d/HOST` folder, when both are there.
    pub fn add_client_identity(&mut self, dir: &Path) -> Result<(), TlsError> {
        let cert_path = dir.join("client.cert");
        let key_path = dir.join("client.key");
        match (cert_path.is_file(), key_path.is_file()) {
            (false, false) => return Ok(()),
            (true, false) => {
                return Err(unusable(&cert_path, "has no client.key beside it".into()));
            }
            (false, true) => {
                return Err(unusable(&key_path, "has no client.cert beside it".into()));
            }
            (true, true) => {}
        }
        let pem = read(&cert_path)?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unusable(&cert_path, format!("is not a PEM certificate file: {e}")))?;
        if chain.is_empty() {
            return Err(unusable(&cert_path, "holds no PEM certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&key_path)?)
            .map_err(|e| unusable(&key_path, format!("holds no PEM private key: {e}")))?;
        self.client = Some((chain, key));
        Ok(())
    }

    /// The rustls configuration: HTTP/2 and HTTP/1.1, the system's roots and the given ones.
    pub fn client_config(self) -> Result<rustls::ClientConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates are skipped, as reqwest does.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        roots.add_parsable_certificates(self.given.iter().cloned());
        let webpki = if roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Config(rustls::Error::General(e.to_string())))?,
            )
        };
        let verifier = Arc::new(Verifier {
            webpki,
            given: self.given,
            insecure: self.insecure,
            algorithms: provider.signature_verification_algorithms,
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match self.client {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsError::Config)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn unusable(path: &Path, reason: String) -> TlsError {
    TlsError::Unusable {
        path: path.to_path_buf(),
        reason,
    }
}

#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    given: Vec<CertificateDer<'static>>,
    insecure: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        // A certificate the user handed over byte for byte is trusted as itself; the name and
        // the dates still have to fit, as for any other certificate.
        if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            verify_server_name(&parsed, server_name)?;
            check_dates(end_entity, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Checks `notBefore <= now <= notAfter` of a DER certificate.
fn check_dates(cert: &[u8], now: UnixTime) -> Result<(), rustls::Error> {
    let (not_before, not_after) = validity(cert).ok_or(rustls::Error::InvalidCertificate(
        CertificateError::BadEncoding,
    ))?;
    let now = now.as_secs() as i64;
    if now < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// One DER element: its tag, its content and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// `(notBefore, notAfter)` in seconds since 1970, from the TBSCertificate's `validity`.
fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    const SEQUENCE: u8 = 0x30;
    let (tag, certificate, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // [0] version (optional), serial number, signature algorithm, issuer, then validity.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, dates, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag_before, before, rest) = element(dates)?;
    let (tag_after, after, _) = element(rest)?;
    Some((time(tag_before, before)?, time(tag_after, after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) in seconds since 1970.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let field = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(time(0x17, b"240229120000Z"), Some(1_709_208_000));
        assert_eq!(time(0x18, b"20240229120000Z"), Some(1_709_208_000));
        assert_eq!(time(0x17, b"2402291200Z"), None);
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut trust = Trust::default();
        trust.add_client_identity(dir.path()).unwrap();
        assert!(trust.client.is_none());
        std::fs::write(dir.path().join("client.cert"), "").unwrap();
        let error = trust.add_client_identity(dir.path()).unwrap_err();
        assert!(error.to_string().contains("no client.key"), "{error}");
        std::fs::write(dir.path().join("client.key"), "not a key").unwrap();
        let error = trust.add_client_identity(dir.path()).unwrap_err();
        assert!(error.to_string().contains("client.cert"), "{error}");
    }

    #[test]
    fn short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let (tag, content, rest) = element(&long).unwrap();
        assert_eq!((tag, content.len(), rest.len()), (0x04, 0x80, 0));
        assert!(element(&[0x04, 0x05, 1]).is_none());
    }
}
