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
