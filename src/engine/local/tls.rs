//! TLS for https endpoints: the system's root certificates plus the CA the
//! user names (`--ca-cert`, `endpoint.ca_cert`), or no verification at all
//! when asked (`--insecure`). HTTP/1.1 is the only protocol offered (ALPN).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::domain::TlsSpec;
use crate::engine::EngineError;

/// The client configuration for `spec`.
pub(crate) fn client_config(spec: &TlsSpec) -> Result<Arc<ClientConfig>, EngineError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("TLS setup failed: {e}")))?;
    let mut config = if spec.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(spec)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The system's roots plus the user's CA certificates.
fn roots(spec: &TlsSpec) -> Result<RootCertStore, EngineError> {
    let mut store = RootCertStore::empty();
    // Unreadable system bundles are skipped: a private CA may be all there is.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = store.add(cert);
    }
    if let Some(pem) = &spec.ca_cert_pem {
        add_pem(&mut store, pem)?;
    }
    if store.is_empty() {
        return Err(setup(
            "no trusted root certificates: the system has none (install the ca-certificates \
             package) and no CA certificate was given (--ca-cert FILE / endpoint.ca_cert)"
                .into(),
        ));
    }
    Ok(store)
}

/// Adds every certificate of a PEM text; at least one must be there.
fn add_pem(store: &mut RootCertStore, pem: &str) -> Result<(), EngineError> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| {
            setup(format!(
                "the CA certificate is not valid PEM ({}); give the CA's certificate file, \
                 which starts with -----BEGIN CERTIFICATE-----",
                pem_error(&e)
            ))
        })?;
        store
            .add(cert)
            .map_err(|e| setup(format!("the CA certificate cannot be used: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(setup(
            "the CA certificate text holds no -----BEGIN CERTIFICATE----- block".into(),
        ));
    }
    Ok(())
}

/// A PEM error without echoing the input.
fn pem_error(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error as E;
    match e {
        E::MissingSectionEnd { .. } => "a section has no END line",
        E::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        E::Base64Decode(_) => "a section is not valid base64",
        _ => "unreadable",
    }
}

fn setup(message: String) -> EngineError {
    EngineError::Setup(message)
}

/// Accepts any server certificate (`--insecure`). Handshake signatures are
/// still checked, so the session is encrypted with whoever answered.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_text_is_a_clear_error_that_does_not_echo_it() {
        let spec = |pem: &str| TlsSpec {
            ca_cert_pem: Some(pem.to_owned()),
            insecure: false,
        };
        let e = client_config(&spec("secret-looking text")).expect_err("no block");
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        let e = client_config(&spec(
            "-----BEGIN CERTIFICATE-----\nnot*base64*secret\n-----END CERTIFICATE-----\n",
        ))
        .expect_err("bad base64");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(client_config(&TlsSpec {
            ca_cert_pem: None,
            insecure: true
        })
        .is_ok());
    }
}
