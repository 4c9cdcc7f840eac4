//! The AWS SDK's configuration as nodecast uses it everywhere: the default
//! credential chain with a cluster's profile and region, `AWS_ENDPOINT_URL`
//! honoured (the emulator in tests), standard retries with backoff and
//! timeouts on every call.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

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
