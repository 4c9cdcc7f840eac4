//! The Kubernetes source: nodes and pods kept current by watchers
//! (reflectors: one list, then a watch of changes, re-listed with backoff
//! after errors), node usage from `metrics.k8s.io` where the cluster serves
//! it. Each poll checks that the API server answers, then summarizes what
//! the reflectors hold.

use super::kube_client::api_error;
pub use super::kube_client::{CALL_TIMEOUT, KubeTarget, auth_error, plugin_command};
use super::kube_objects::{NodeMetrics, budget_from, pod_from, state_from};
use super::{Result, SourceError};
use super::{Source, SourceUpdate};
use crate::domain::Pod as DomainPod;
use crate::domain::{Sample, SeriesKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long a poll waits for the first complete list of nodes and pods.
pub const FIRST_LIST_WAIT: Duration = Duration::from_secs(10);
/// How long nodecast believes a cluster without `metrics.k8s.io` before asking again.
const METRICS_RECHECK: Duration = Duration::from_secs(600);
/// How often the autoscalers and NodePools are looked for again.
const AUTOSCALERS_RECHECK: Duration = Duration::from_secs(300);

/// What the cluster said about `metrics.k8s.io`.
#[derive(Clone, Copy, Debug)]
enum Metrics {
    Unknown,
    Served,
    /// Not served (404) as of then.
    Absent(Instant),
}

/// The last error a watcher met, cleared by its next event.
type WatchError = Arc<Mutex<Option<String>>>;

/// Pods as nodecast's domain pods (a few hundred bytes each instead of the
/// kilobytes of a full Kubernetes object), keyed by namespace/name, kept
/// current from a watcher: what lets 150,000 pods fit in memory. A pod
/// nodecast cannot read is kept as its reason, reported at each poll.
#[derive(Clone, Default)]
struct PodIndex {
    pods: Arc<Mutex<std::collections::HashMap<String, Result<DomainPod, String>>>>,
    listed: Arc<tokio::sync::Notify>,
    ready: Arc<std::sync::atomic::AtomicBool>,
}

impl PodIndex {
    async fn wait_until_ready(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let listed = self.listed.notified();
            if self.ready.load(Ordering::SeqCst) {
                return;
            }
            listed.await;
        }
    }
}

fn pod_key(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or("default"),
        p.metadata.name.as_deref().unwrap_or("")
    )
}

/// Keeps `index` current from a pod watcher (a re-list replaces it whole).
async fn index_pods(api: Api<Pod>, index: PodIndex, error: WatchError) {
    use watcher::Event;
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut relist: Option<std::collections::HashMap<String, Result<DomainPod, String>>> = None;
    let convert = |p: &Pod| pod_from(p).map_err(|e| format!("{e:#}"));
    while let Some(ev) = stream.next().await {
        let Some(ev) = note_watch(&error, "pods", ev) else {
            continue;
        };
        let mut pods = index.pods.lock().unwrap_or_else(|p| p.into_inner());
        match ev {
            Event::Init => relist = Some(Default::default()),
            Event::InitApply(p) => {
                if let Some(r) = relist.as_mut() {
                    r.insert(pod_key(&p), convert(&p));
                }
            }
            Event::InitDone => {
                if let Some(r) = relist.take() {
                    *pods = r;
                }
                index.ready.store(true, std::sync::atomic::Ordering::SeqCst);
                index.listed.notify_waiters();
            }
            Event::Apply(p) => {
                pods.insert(pod_key(&p), convert(&p));
            }
            Event::Delete(p) => {
                pods.remove(&pod_key(&p));
            }
        }
    }
}

/// Where the PodDisruptionBudgets' reflector is.
#[derive(Clone, Default)]
enum BudgetWatch {
    /// Still finding which version the API server serves.
    #[default]
    Discovering,
    /// Neither `policy/v1` nor `policy/v1beta1` is served.
    Absent,
    Watching(Store<DynamicObject>),
}
type Budgets = Arc<Mutex<BudgetWatch>>;

struct Watching {
    client: Client,
    nodes: Store<Node>,
    pods: PodIndex,
    budgets: Budgets,
    error: WatchError,
    tasks: Vec<JoinHandle<()>>,
}

impl Watching {
    fn start(client: Client) -> Self {
        let error = WatchError::default();
        let (nodes, t1) = reflect(Api::<Node>::all(client.clone()), "nodes", error.clone());
        let pods = PodIndex::default();
        let t2 = tokio::spawn(index_pods(
            Api::<Pod>::all(client.clone()),
            pods.clone(),
            error.clone(),
        ));
        let budgets = Budgets::default();
        let t3 = tokio::spawn(watch_budgets(client.clone(), budgets.clone()));
        Watching {
            client,
            nodes,
            pods,
            budgets,
            error,
            tasks: vec![t1, t2, t3],
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Records a watcher's result in `error` (cleared by an event, set and logged
/// on an error) and passes the event on.
fn note_watch<T>(error: &WatchError, label: &str, ev: Result<T, watcher::Error>) -> Option<T> {
    let mut e = error.lock().unwrap_or_else(|p| p.into_inner());
    match ev {
        Ok(ev) => {
            *e = None;
            Some(ev)
        }
        Err(err) => {
            tracing::warn!("{label} watch: {err}");
            *e = Some(format!("{label} watch: {err}"));
            None
        }
    }
}

/// Keeps a reflector of `K` current; watcher errors go to `error` (and the log).
fn reflect<K>(api: Api<K>, label: &'static str, error: WatchError) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store::<K>();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        // Managed fields are big and unused: not kept in memory.
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
        .reflect(writer);
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            note_watch(&error, label, ev);
        }
    });
    (reader, task)
}

/// Finds the PodDisruptionBudget API (`policy/v1`, or `policy/v1beta1` before
/// Kubernetes 1.21) and keeps a reflector of it; retries with backoff while
/// the API server does not answer, and gives up quietly where neither is served.
async fn watch_budgets(client: Client, out: Budgets) {
    let mut backoff = Duration::from_secs(1);
    let ar = 'found: loop {
        let mut absent = 0;
        for version in ["v1", "v1beta1"] {
            let gvk = GroupVersionKind::gvk("policy", version, "PodDisruptionBudget");
            let ar = ApiResource::from_gvk_with_plural(&gvk, "poddisruptionbudgets");
            let api = Api::<DynamicObject>::all_with(client.clone(), &ar);
            let one = ListParams::default().limit(1);
            let probe = api.list_metadata(&one);
            match tokio::time::timeout(CALL_TIMEOUT, probe).await {
                Ok(Ok(_)) => break 'found ar,
                Ok(Err(kube::Error::Api(s))) if s.code == 404 => absent += 1,
                Ok(Err(e)) => tracing::debug!("policy/{version} PodDisruptionBudgets: {e}"),
                Err(_) => tracing::debug!("policy/{version} PodDisruptionBudgets: no answer"),
            }
        }
        if absent == 2 {
            tracing::info!("no PodDisruptionBudget API served");
            if let Ok(mut o) = out.lock() {
                *o = BudgetWatch::Absent;
            }
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(60));
    };
    let writer = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    if let Ok(mut o) = out.lock() {
        *o = BudgetWatch::Watching(writer.as_reader());
    }
    let stream = watcher(
        Api::<DynamicObject>::all_with(client, &ar),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer);
    futures::pin_mut!(stream);
    while let Some(ev) = stream.next().await {
        if let Err(e) = ev {
            tracing::warn!("pod disruption budgets watch: {e}");
        }
    }
}

/// The budgets' store once listed; waits a little for discovery and the first
/// list, and goes on without budgets rather than hold up the nodes and pods.
async fn budget_store(b: &Budgets, wait: Duration) -> Option<Store<DynamicObject>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = b.lock().map(|w| w.clone()).unwrap_or(BudgetWatch::Absent);
        match now {
            BudgetWatch::Absent => return None,
            BudgetWatch::Watching(store) => {
                let ready = tokio::time::timeout_at(deadline, store.wait_until_ready()).await;
                return matches!(ready, Ok(Ok(()))).then_some(store);
            }
            BudgetWatch::Discovering if tokio::time::Instant::now() >= deadline => return None,
            BudgetWatch::Discovering => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The Kubernetes source of one cluster.
pub struct KubeSource {
    target: KubeTarget,
    interval: Duration,
    watching: Option<Watching>,
    metrics: Metrics,
    /// Whether a poll has read the reflectors yet.
    polled: bool,
    /// When the autoscalers and NodePools were last looked for.
    discovered: Option<Instant>,
}

impl KubeSource {
    pub fn new(target: KubeTarget, interval: Duration) -> Self {
        KubeSource {
            target,
            interval,
            watching: None,
            metrics: Metrics::Unknown,
            polled: false,
            discovered: None,
        }
    }

    /// A source on an existing client (tests give it a mock one).
    pub fn with_client(client: Client, interval: Duration) -> Self {
        let mut s = KubeSource::new(KubeTarget::default(), interval);
        s.watching = Some(Watching::start(client));
        s
    }

    async fn node_metrics(&mut self, client: &Client) -> Option<Vec<NodeMetrics>> {
        if let Metrics::Absent(since) = self.metrics
            && since.elapsed() < METRICS_RECHECK
        {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct List {
            items: Vec<NodeMetrics>,
        }
        let req = http::Request::get("/apis/metrics.k8s.io/v1beta1/nodes")
            .body(Vec::new())
            .ok()?;
        match tokio::time::timeout(CALL_TIMEOUT, client.request::<List>(req)).await {
            Ok(Ok(list)) => {
                self.metrics = Metrics::Served;
                Some(list.items)
            }
            Ok(Err(kube::Error::Api(s))) if s.code == 404 => {
                if !matches!(self.metrics, Metrics::Absent(_)) {
                    tracing::info!("metrics.k8s.io is not served: node usage unavailable");
                }
                self.metrics = Metrics::Absent(Instant::now());
                None
            }
            Ok(Err(e)) => {
                tracing::warn!("metrics.k8s.io: {e}");
                None
            }
            Err(_) => {
                tracing::warn!("metrics.k8s.io: no answer in {CALL_TIMEOUT:?}");
                None
            }
        }
    }
}

#[async_trait]
impl Source for KubeSource {
    fn name(&self) -> &str {
        "kube"
    }

    fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// The API server keeps no history: this connects and starts the watchers.
    async fn backfill(&mut self, _now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        if self.watching.is_none() {
            let client = self.target.client().await?;
            self.watching = Some(Watching::start(client));
        }
        Ok(Vec::new())
    }

    async fn poll(&mut self, _now: DateTime<Utc>) -> Result<SourceUpdate> {
        let Some(w) = &self.watching else {
            return Err(SourceError::Unreachable("not connected".into()));
        };
        let client = w.client.clone();
        match tokio::time::timeout(CALL_TIMEOUT, client.apiserver_version()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(api_error(e)),
            Err(_) => {
                return Err(SourceError::Unreachable(format!(
                    "API server: no answer in {CALL_TIMEOUT:?}"
                )));
            }
        }
        let (nodes, pods) = (w.nodes.clone(), w.pods.clone());
        let budgets = w.budgets.clone();
        let ready = async {
            nodes.wait_until_ready().await?;
            pods.wait_until_ready().await;
            Ok::<(), reflector::store::WriterDropped>(())
        };
        if tokio::time::timeout(FIRST_LIST_WAIT, ready).await.is_err() {
            let why = w
                .error
                .lock()
                .map(|e| e.clone())
                .unwrap_or_default()
                .unwrap_or_else(|| "still listing".into());
            return Err(SourceError::NotReady(format!(
                "no complete list of nodes and pods yet: {why}"
            )));
        }
        // Only the first poll waits for the budgets; later ones take what is there.
        let wait = if self.polled {
            Duration::ZERO
        } else {
            FIRST_LIST_WAIT
        };
        self.polled = true;
        let budgets = budget_store(&budgets, wait).await;
        let metrics = self.node_metrics(&client).await;
        let (mut state, mut dropped) =
            state_from(&nodes.state(), &[] as &[Pod], metrics.as_deref());
        for p in pods.pods.lock().unwrap_or_else(|p| p.into_inner()).values() {
            match p {
                Ok(p) => state.pods.push(p.clone()),
                Err(e) => dropped.push(e.clone()),
            }
        }
        for b in budgets.map(|b| b.state()).unwrap_or_default() {
            match budget_from(&b) {
                Ok(b) => state.budgets.push(b),
                Err(e) => dropped.push(format!("{e:#}")),
            }
        }
        for d in dropped {
            tracing::warn!("kube object dropped: {d}");
        }
        let facts = if self
            .discovered
            .is_none_or(|t| t.elapsed() >= AUTOSCALERS_RECHECK)
        {
            self.discovered = Some(Instant::now());
            let found =
                tokio::time::timeout(CALL_TIMEOUT, super::kube_autoscalers::discover(&client))
                    .await;
            match found {
                Ok(Ok(f)) => Some(f),
                Ok(Err(e)) => {
                    tracing::warn!("autoscalers and NodePools: {e}");
                    None
                }
                Err(_) => {
                    tracing::warn!("autoscalers and NodePools: no answer in {CALL_TIMEOUT:?}");
                    None
                }
            }
        } else {
            None
        };
        Ok(SourceUpdate {
            state: Some(state),
            samples: Vec::new(),
            facts,
        })
    }
}
