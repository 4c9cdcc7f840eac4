//! SigV4 for Amazon Managed Service for Prometheus (AMP): a workspace's
//! query API answers only requests signed for the service `aps` with the
//! caller's AWS credentials (the default chain with the cluster's profile).

use super::{Result, SourceError};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

/// The signing service of AMP's query API.
pub const SERVICE: &str = "aps";
/// The IAM action a query needs.
pub const QUERY_ACTION: &str = "aps:QueryMetrics";

/// The region of an AMP workspace URL
/// (`https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-…`).
pub fn workspace_region(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let rest = host.strip_prefix("aps-workspaces.")?;
    let (region, tail) = rest.split_once('.')?;
    (tail.starts_with("amazonaws.com") && !region.is_empty()).then(|| region.to_string())
}

/// The region queries to `url` are signed for, `None` when they are not:
/// an AMP workspace is signed unless `sigv4 = false`, any URL when `sigv4 =
/// true`; the region is `sigv4_region`, else the workspace's, else the
/// cluster's. Signing with none of them is an error.
pub fn signing_region(
    url: &str,
    sigv4: Option<bool>,
    sigv4_region: Option<&str>,
    cluster_region: &str,
) -> std::result::Result<Option<String>, String> {
    let workspace = workspace_region(url);
    if !sigv4.unwrap_or(workspace.is_some()) {
        return Ok(None);
    }
    match sigv4_region.map(str::to_string).or(workspace) {
        Some(r) => Ok(Some(r)),
        None if !cluster_region.is_empty() => Ok(Some(cluster_region.to_string())),
        None => Err(
            "[cluster.prometheus] sigv4 = true needs a region to sign for: set `region` in \
             [[cluster]] or `sigv4_region`"
                .into(),
        ),
    }
}

/// Signs requests for one region with credentials from the default chain
/// (loaded on first use) or given ones.
pub struct AmpSigner {
    region: String,
    profile: Option<String>,
    credentials: OnceCell<SharedCredentialsProvider>,
}

impl AmpSigner {
    /// Credentials from the default chain with `profile`.
    pub fn new(region: &str, profile: Option<String>) -> AmpSigner {
        AmpSigner {
            region: region.to_string(),
            profile,
            credentials: OnceCell::new(),
        }
    }

    /// Credentials from `provider` (a fixed key in tests).
    pub fn with_credentials(region: &str, provider: SharedCredentialsProvider) -> AmpSigner {
        AmpSigner {
            region: region.to_string(),
            profile: None,
            credentials: OnceCell::new_with(Some(provider)),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    async fn provider(&self) -> Result<&SharedCredentialsProvider> {
        self.credentials
            .get_or_try_init(|| async {
                crate::aws::credentials_provider(&self.region, self.profile.as_deref())
                    .await
                    .ok_or_else(|| {
                        SourceError::Setup("AMP SigV4: no AWS credentials provider".into())
                    })
            })
            .await
    }

    /// The headers that sign a GET of `url` (with its query) and no body.
    pub async fn headers(&self, url: &str) -> Result<Vec<(String, String)>> {
        let creds = self
            .provider()
            .await?
            .provide_credentials()
            .await
            .map_err(|e| SourceError::Denied(format!("AMP SigV4: no AWS credentials: {e}")))?;
        crate::aws::sigv4_headers(creds, &self.region, SERVICE, "GET", url, &[], &[])
            .map_err(|e| SourceError::Setup(format!("AMP SigV4: cannot sign {url}: {e}")))
    }
}

/// `s` percent-encoded as SigV4 canonicalizes a query (RFC 3986: only
/// `A-Z a-z 0-9 - _ . ~` stay, a space is `%20`, never `+`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
