//! The real peers the test script starts (scripts/peers.sh). Peer tests are
//! `#[ignore]` for plain `cargo test`; the test script runs them, and there a
//! missing peer fails the test, never skips it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the peer tests through scripts/test.sh, which starts the peers"
        )
    })
}

/// The shared kube-apiserver's kubeconfig.
pub fn kubeconfig() -> PathBuf {
    PathBuf::from(env("NODECAST_TEST_KUBECONFIG"))
}

/// A copy of the shared kubeconfig in `dir` whose server is 127.0.0.1:`port`
/// (port 9: nobody listens, a cluster that is down).
pub fn kubeconfig_on_port(dir: &std::path::Path, name: &str, port: u16) -> PathBuf {
    let shared = std::fs::read_to_string(kubeconfig()).expect("kubeconfig");
    let url = env("NODECAST_TEST_APISERVER_URL");
    let path = dir.join(name);
    std::fs::write(
        &path,
        shared.replace(&url, &format!("https://127.0.0.1:{port}")),
    )
    .expect("write kubeconfig");
    path
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

pub async fn client(kubeconfig: &std::path::Path) -> kube::Client {
    nodecast::sources::kube::KubeTarget {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: None,
        ..Default::default()
    }
    .client()
    .await
    .expect("client")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A kube-apiserver of this test's own on the shared etcd (same objects, its
/// own port), so the test can kill and restart it without disturbing others.
pub struct OwnApiServer {
    pub port: u16,
    pub kubeconfig: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl OwnApiServer {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("dir");
        let shared = std::fs::read_to_string(kubeconfig()).expect("kubeconfig");
        let url = env("NODECAST_TEST_APISERVER_URL");
        let kc = dir.path().join("kubeconfig");
        std::fs::write(
            &kc,
            shared.replace(&url, &format!("https://127.0.0.1:{port}")),
        )
        .expect("write kubeconfig");
        let mut s = OwnApiServer {
            port,
            kubeconfig: kc,
            child: None,
            _dir: dir,
        };
        s.restart();
        s
    }

    pub fn restart(&mut self) {
        let cmd = std::fs::read_to_string(env("NODECAST_TEST_APISERVER_CMD")).expect("cmd");
        let log = std::fs::File::create(self._dir.path().join("apiserver.log")).expect("log");
        let child = Command::new("bash")
            .arg("-c")
            .arg(format!("exec {cmd} --secure-port {}", self.port))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("kube-apiserver");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "own kube-apiserver did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnApiServer {
    fn drop(&mut self) {
        self.kill();
    }
}
