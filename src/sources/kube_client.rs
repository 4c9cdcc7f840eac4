//! The client of a cluster's API server: which kubeconfig and context,
//! the exec plugin's environment (`aws eks get-token`), nodecast's
//! timeouts, and the API server's and the credential's errors said plainly.

use super::{Result, SourceError, error_chain};
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;
use std::time::Duration;

/// Every call to the API server gives up after this long.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Which cluster of which kubeconfig.
#[derive(Clone, Debug, Default)]
pub struct KubeTarget {
    /// kubeconfig file; `None`: KUBECONFIG, then ~/.kube/config.
    pub kubeconfig: Option<PathBuf>,
    /// Context; `None`: the kubeconfig's current context.
    pub context: Option<String>,
    /// Environment for the context's exec plugin (`aws eks get-token`):
    /// the cluster's `AWS_PROFILE` and `AWS_REGION`, unless the
    /// kubeconfig's own exec `env` sets them.
    pub plugin_env: Vec<(String, String)>,
}

/// The API server's answer to a call as a source error: refused (401/403),
/// failed (another status), or unreachable.
pub(super) fn api_error(e: kube::Error) -> SourceError {
    if let kube::Error::Auth(a) = &e {
        return SourceError::Denied(auth_error(a));
    }
    let msg = format!("API server: {e}");
    match &e {
        kube::Error::Api(s) if s.code == 401 || s.code == 403 => SourceError::Denied(msg),
        kube::Error::Api(_) => SourceError::Failed(msg),
        _ => SourceError::Unreachable(msg),
    }
}

/// A kubeconfig credential that failed, said plainly: the exec plugin's
/// command and the last line of its stderr, or why it could not start.
pub fn auth_error(e: &kube::client::AuthError) -> String {
    use kube::client::AuthError as A;
    match e {
        A::AuthExecStart(io) => {
            format!("kubeconfig exec plugin could not start: {io} (is it installed and on PATH?)")
        }
        A::AuthExecRun { cmd, out } => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("(no stderr)");
            // Short, the reason last but within a status bar's width.
            let how = match out.status.code() {
                Some(c) => format!("exited {c}"),
                None => "was killed".to_string(),
            };
            format!(
                "exec plugin `{}` {how}: {}",
                plugin_command(cmd),
                last.trim()
            )
        }
        A::AuthExecParse(p) => {
            format!("kubeconfig exec plugin printed no ExecCredential: {p}")
        }
        other => format!("kubeconfig credentials: {other}"),
    }
}

/// The plugin's command line as a person writes it (`aws eks get-token
/// --cluster-name prod`) from kube's debug form of the process, which puts
/// every environment variable first (`KUBERNETES_EXEC_INFO="{…}" "aws" …`):
/// the variables are dropped, the program is shown by its file name.
pub fn plugin_command(debug: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut chars = debug.chars().peekable();
    // A Debug-quoted string after its opening quote, unescaped.
    let quoted = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        s.push(n);
                    }
                }
                '"' => break,
                c => s.push(c),
            }
        }
        s
    };
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
        } else if c == '"' {
            chars.next();
            words.push(quoted(&mut chars));
        } else {
            let mut raw = String::new();
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                chars.next();
                raw.push(c);
                if raw.ends_with("=\"") {
                    // NAME="value": an environment variable, dropped.
                    quoted(&mut chars);
                    raw.clear();
                    break;
                }
            }
            if !raw.is_empty() {
                words.push(raw);
            }
        }
    }
    if let Some(first) = words.first_mut()
        && let Some(name) = std::path::Path::new(first.as_str()).file_name()
    {
        *first = name.to_string_lossy().into_owned();
    }
    words.join(" ")
}

/// Adds `vars` to the exec plugin's environment of `context`'s user (the
/// current context's when `None`), leaving what the kubeconfig sets.
fn add_plugin_env(kc: &mut Kubeconfig, context: Option<&str>, vars: &[(String, String)]) {
    let ctx = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone());
    let user = kc
        .contexts
        .iter()
        .find(|c| Some(&c.name) == ctx.as_ref())
        .and_then(|c| c.context.as_ref()?.user.clone());
    for ai in kc
        .auth_infos
        .iter_mut()
        .filter(|a| Some(&a.name) == user.as_ref())
    {
        let Some(exec) = ai.auth_info.as_mut().and_then(|a| a.exec.as_mut()) else {
            continue;
        };
        let env = exec.env.get_or_insert_with(Vec::new);
        for (k, v) in vars {
            if !env.iter().any(|e| e.get("name") == Some(k)) {
                env.push(
                    [
                        ("name".to_string(), k.clone()),
                        ("value".to_string(), v.clone()),
                    ]
                    .into_iter()
                    .collect(),
                );
            }
        }
    }
}

impl KubeTarget {
    /// A client for the target, with nodecast's timeouts. Reads the kubeconfig; no network.
    pub async fn client(&self) -> Result<Client> {
        crate::tls::install_provider();
        let setup = |what: String| {
            move |e: kube::config::KubeconfigError| {
                SourceError::Setup(format!("{what}: {}", error_chain(&e)))
            }
        };
        let mut kc = match &self.kubeconfig {
            Some(p) => {
                Kubeconfig::read_from(p).map_err(setup(format!("kubeconfig {}", p.display())))?
            }
            None => Kubeconfig::read()
                .map_err(setup("kubeconfig (KUBECONFIG or ~/.kube/config)".into()))?,
        };
        add_plugin_env(&mut kc, self.context.as_deref(), &self.plugin_env);
        let opts = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(setup(match &self.context {
                Some(c) => format!("kubeconfig context {c:?}"),
                None => "kubeconfig current context".to_string(),
            }))?;
        cfg.connect_timeout = Some(CALL_TIMEOUT);
        // An exec plugin first runs here.
        Client::try_from(cfg).map_err(|e| match &e {
            kube::Error::Auth(a) => SourceError::Denied(auth_error(a)),
            _ => SourceError::Setup(format!("Kubernetes client: {}", error_chain(&e))),
        })
    }
}
