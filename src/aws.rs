//! The AWS SDK's configuration as nodecast uses it everywhere: the default
//! credential chain with a cluster's profile and region, `AWS_ENDPOINT_URL`
//! honoured (the emulator in tests), standard retries with backoff and
//! timeouts on every call.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;
use tokio::sync::OnceCell;

pub async fn sdk_config(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint: Option<&str>,
) -> aws_config::SdkConfig {
    crate::tls::install_provider();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// An SDK client for one region and profile, made on first use.
pub struct LazyClient<C> {
    pub region: Option<String>,
    pub profile: Option<String>,
    cell: OnceCell<C>,
}

impl<C> LazyClient<C> {
    pub fn new(region: Option<String>, profile: Option<String>) -> Self {
        LazyClient {
            region,
            profile,
            cell: OnceCell::new(),
        }
    }

    /// The client, made with `make` (e.g. `aws_sdk_eks::Client::new`) the first time.
    pub async fn get(&self, make: impl FnOnce(&aws_config::SdkConfig) -> C) -> &C {
        self.cell
            .get_or_init(|| async {
                make(&sdk_config(self.region.as_deref(), self.profile.as_deref(), None).await)
            })
            .await
    }
}

/// The AWS caller's ARN (STS GetCallerIdentity) for a region and profile,
/// asked once; `None` when it cannot be told.
pub struct Caller {
    sts: LazyClient<aws_sdk_sts::Client>,
    arn: OnceCell<Option<String>>,
}

impl Caller {
    pub fn new(region: Option<String>, profile: Option<String>) -> Self {
        Caller {
            sts: LazyClient::new(region, profile),
            arn: OnceCell::new(),
        }
    }

    pub async fn arn(&self) -> Option<String> {
        self.arn
            .get_or_init(|| async {
                let sts = self.sts.get(aws_sdk_sts::Client::new).await;
                match sts.get_caller_identity().send().await {
                    Ok(id) => id.arn().map(str::to_string),
                    Err(e) => {
                        tracing::warn!(
                            "GetCallerIdentity: {}",
                            aws_sdk_sts::error::DisplayErrorContext(e)
                        );
                        None
                    }
                }
            })
            .await
            .clone()
    }
}

/// The default credential chain's provider for a region and profile.
pub async fn credentials_provider(
    region: &str,
    profile: Option<&str>,
) -> Option<aws_credential_types::provider::SharedCredentialsProvider> {
    sdk_config(Some(region), profile, None)
        .await
        .credentials_provider()
}

/// The headers that SigV4-sign a request for `service` in `region` now:
/// `method` on `url` (its query included) with `headers` and `body`. The
/// error says why it could not be signed.
pub fn sigv4_headers(
    creds: aws_credential_types::Credentials,
    region: &str,
    service: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = creds.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}
