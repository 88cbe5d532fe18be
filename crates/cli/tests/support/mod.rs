//! What the cli's tests and benches share.

use std::path::{Path, PathBuf};

/// The newest versioned real kubectl on this machine (`kubectl.1.27` ... `kubectl.1.40`).
pub fn newest_kubectl() -> PathBuf {
    (27..=40)
        .rev()
        .map(|m| Path::new("/usr/lib/google-cloud-sdk/bin").join(format!("kubectl.1.{m}")))
        .find(|p| p.exists())
        .expect("a versioned kubectl")
}
