//! One rustls crypto provider for the process: aws-lc-rs, the one the AWS SDK uses.

/// Installs aws-lc-rs as the process's rustls provider (once; later calls do nothing).
pub fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
