//! TLS client settings shared by IMAP and the OAuth2 token requests:
//! rustls with the *ring* provider, TLS 1.2 or newer, the Mozilla roots of
//! webpki-roots, and a council's own CA certificates when it has them.

use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A client configuration trusting the public roots and `extra_ca_pem`.
pub fn client_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .context("The CA file is not PEM")?;
        if certs.is_empty() {
            anyhow::bail!("The CA file holds no certificate");
        }
        for cert in certs {
            roots.add(cert).context("A CA certificate is not usable")?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("Cannot set up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// TLS over `tcp` to `host`, the handshake under `timeout`.
pub async fn connect(
    config: Arc<ClientConfig>,
    host: &str,
    tcp: tokio::net::TcpStream,
    timeout: std::time::Duration,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .with_context(|| format!("{host} is not a valid server name"))?;
    tokio::time::timeout(
        timeout,
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await
    .with_context(|| format!("TLS with {host} timed out"))?
    .with_context(|| format!("TLS with {host} failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let err = client_config(Some(b"this is not a certificate\n")).unwrap_err();
        assert_eq!(err.to_string(), "The CA file holds no certificate");
        let damaged = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let err = client_config(Some(damaged)).unwrap_err();
        assert_eq!(err.to_string(), "The CA file is not PEM");
    }

    #[test]
    fn a_ca_certificate_in_pem_is_trusted() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ca.test".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).unwrap().pem();
        assert!(client_config(Some(pem.as_bytes())).is_ok());
    }
}
