//! SigV4 for Amazon Managed Service for Prometheus (AMP): a workspace's
//! query API answers only requests signed for the service `aps` with the
//! caller's AWS credentials (the default chain with the cluster's profile).

use super::{Result, SourceError};
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::SystemTime;
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
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.region.clone()));
                if let Some(p) = &self.profile {
                    loader = loader.profile_name(p);
                }
                loader.load().await.credentials_provider().ok_or_else(|| {
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
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| SourceError::Setup(format!("AMP SigV4: cannot sign: {e}")))?
            .into();
        let signable =
            SignableRequest::new("GET", url, std::iter::empty(), SignableBody::Bytes(&[]))
                .map_err(|e| SourceError::Setup(format!("AMP SigV4: cannot sign {url}: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| SourceError::Setup(format!("AMP SigV4: cannot sign {url}: {e}")))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
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
