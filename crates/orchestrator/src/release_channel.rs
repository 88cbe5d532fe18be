//! The newest releases upstream publishes, asked for the way `kubeadm upgrade plan` does:
//! `stable.txt` and `stable-1.y.txt` under <https://dl.k8s.io/release>. Read-only, bounded
//! in time and size; any failure means "use the shipped release data" and says why.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kubeladder_core::{KubeVersion, Minor};

/// Where kubeadm looks.
pub const DEFAULT_URL: &str = "https://dl.k8s.io/release";
/// `--release-url off`: no network, the shipped release data only.
pub const OFF: &str = "off";
const TIMEOUT: Duration = Duration::from_secs(5);
/// A version file is one short line; anything longer is not one.
const MAX_BODY: usize = 256;

/// What the lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not asked (`--release-url off`, or a command that never asks).
    Off,
    Online {
        /// The `stable.txt` URL that answered.
        url: String,
        stable: KubeVersion,
        /// `stable-1.y.txt` for the cluster's series, when it answered too.
        in_series: Option<KubeVersion>,
    },
    /// Asked, and no usable answer: why.
    Failed(String),
}

/// Ask `base` (`https://dl.k8s.io/release`, or `off`) for the latest stable release and
/// the latest of `series`.
pub async fn lookup(base: &str, series: Minor) -> Lookup {
    if base == OFF {
        return Lookup::Off;
    }
    let base = base.trim_end_matches('/');
    let url = format!("{base}/stable.txt");
    // One client (one load of the system's roots, one connection pool) for both files.
    let connector = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
        Ok(builder) => builder.https_or_http().enable_http1().build(),
        Err(e) => return Lookup::Failed(format!("no CA certificates to verify {url}: {e}")),
    };
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    match version_at(&client, &url).await {
        Ok(stable) => {
            let in_series = version_at(&client, &format!("{base}/stable-{series}.txt")).await.ok();
            Lookup::Online { url, stable, in_series }
        }
        Err(why) => Lookup::Failed(why),
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

async fn version_at(client: &HttpClient, url: &str) -> Result<KubeVersion, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{url} is not a URL: {e}"))?;
    let read = async {
        let response = client.get(uri).await.map_err(|e| format!("{url}: {}", error_chain(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url}: HTTP {status}"));
        }
        let body =
            Limited::new(response.into_body(), MAX_BODY).collect().await.map_err(|e| format!("{url}: {e}"))?.to_bytes();
        let text = String::from_utf8_lossy(&body);
        KubeVersion::parse(text.trim()).map_err(|e| format!("{url}: {e}"))
    };
    tokio::time::timeout(TIMEOUT, read).await.map_err(|_| format!("{url}: no answer within {}s", TIMEOUT.as_secs()))?
}

/// `error: cause: cause`, as hyper's errors hide the useful part in their sources.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
