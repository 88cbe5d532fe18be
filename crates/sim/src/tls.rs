//! Certificates made at start (a CA and a server certificate for 127.0.0.1 / localhost
//! signed by it) and the kubeconfig that trusts them.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::SimError;

/// The simulated cluster's certificate material.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub ca_pem: String,
    pub server_cert_der: Vec<u8>,
    pub server_key_der: Vec<u8>,
}

impl Certificates {
    /// A fresh CA and a server certificate for `127.0.0.1`, `::1` and `localhost`.
    pub fn generate() -> Result<Self, SimError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "kubernetes");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
        ])?;
        params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.subject_alt_names.push(SanType::IpAddress(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, "kube-apiserver");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params.signed_by(&server_key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_cert_der: server_cert.der().to_vec(),
            server_key_der: server_key.serialize_der(),
        })
    }

    /// A rustls server configuration (HTTP/1.1 over TLS 1.2/1.3, ring provider).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, SimError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(self.server_cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone())),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A kubeconfig with one cluster, user and context named `kubeladder-sim`.
pub fn kubeconfig_yaml(url: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kubeladder-sim
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: kubeladder-sim-admin
  user:
    token: {token}
contexts:
- name: kubeladder-sim
  context:
    cluster: kubeladder-sim
    user: kubeladder-sim-admin
current-context: kubeladder-sim
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_make_a_server_config() {
        let certs = Certificates::generate().unwrap();
        assert!(certs.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        certs.server_config().unwrap();
        let yaml = kubeconfig_yaml("https://127.0.0.1:1", &certs.ca_pem, "t");
        assert!(yaml.contains("token: t"));
    }
}
