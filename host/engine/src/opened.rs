//! Opening a plan on the node that runs its tasks: each vertex's component is found in this
//! process's cache by its sha256 (or loaded by name and checked against that hash), and its
//! declared sandbox is resolved against this node's policy.

use std::sync::Arc;
use std::time::Duration;

use st_core::PluginKind;
use st_plan::{Failure, FailureKind, JobEvent, JobPlan, Vertex};
use st_runtime::{CancelToken, LoadedFrom, Plugin, PluginRef, Runtime, SandboxSpec, TaskContext};
use tokio::sync::broadcast;

use crate::{Engine, sandbox};

/// A job opened on this node, ready to run.
pub struct PreparedJob {
    pub plan: JobPlan,
    /// How each plugin was loaded while planning: (plugin path, from, time).
    pub loads: Vec<(String, LoadedFrom, Duration)>,
    pub(crate) plugins: Vec<Arc<Plugin>>,
    pub(crate) sandboxes: Vec<Arc<SandboxSpec>>,
    pub(crate) cancel: CancelToken,
    pub(crate) savepoint: CancelToken,
    pub(crate) events: broadcast::Sender<JobEvent>,
}

impl PreparedJob {
    /// (plugin path, name, kind) of every plugin, in job order.
    pub fn plugins(&self) -> Vec<(String, String, PluginKind)> {
        self.plan
            .vertices
            .iter()
            .zip(&self.plugins)
            .map(|(v, p)| (v.path.clone(), p.info.name.clone(), v.kind))
            .collect()
    }

    /// Cancelling stops every task of the job; a busy plugin is interrupted within an epoch tick.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Asking for a savepoint stops the job at a consistent point it can resume from.
    pub fn savepoint_token(&self) -> CancelToken {
        self.savepoint.clone()
    }

    /// The job's events from now on: state changes, checkpoints, restarts, progress. A
    /// listener that falls more than a few thousand events behind misses the oldest.
    pub fn events(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    pub fn pipeline_count(&self) -> usize {
        self.plan.pipelines.len()
    }

    pub(crate) fn vertex(&self, i: u32) -> &Vertex {
        self.plan.vertex(i)
    }

    pub(crate) fn plugin(&self, i: u32) -> &Arc<Plugin> {
        &self.plugins[i as usize]
    }

    /// What plugin instance `subtask` of vertex `i` is told about its task.
    pub(crate) fn ctx(&self, i: u32, subtask: u32, parallelism: u32) -> TaskContext {
        TaskContext {
            job_id: self.plan.job_id.to_string(),
            job_name: self.plan.job_name.clone(),
            plugin_path: self.vertex(i).path.clone(),
            subtask,
            parallelism,
            bounded: self.plan.bounded,
            sandbox: self.sandboxes[i as usize].clone(),
            cancel: self.cancel.clone(),
        }
    }
}

/// One vertex's component and sandbox on this node.
pub(crate) async fn open_vertex(
    rt: &Runtime,
    v: &Vertex,
) -> Result<(Arc<Plugin>, Arc<SandboxSpec>), Failure> {
    let plugin = match rt.loaded(&v.plugin.sha256) {
        Some(p) => p,
        None => {
            let r = PluginRef {
                name: &v.plugin.name,
                artifact: v.plugin.artifact.as_deref(),
                sha256: Some(&v.plugin.sha256),
                kind: Some(v.kind),
            };
            rt.load_ref(r)
                .await
                .map_err(|e| Failure::new(FailureKind::Load, format!("{}: {e}", v.path)))?
                .plugin
        }
    };
    let spec = sandbox::spec(rt.config(), &v.sandbox, true).map_err(|(sub, message)| {
        let option = sub.map_or("sandbox".to_string(), |s| format!("sandbox.{s}"));
        Failure::new(
            FailureKind::InvalidOption,
            format!("{}.{option}: {message}", v.path),
        )
    })?;
    Ok((plugin, Arc::new(spec)))
}

impl Engine {
    fn plugin_path(
        &self,
        sha256: &str,
    ) -> Option<(Arc<dyn object_store::ObjectStore>, object_store::path::Path)> {
        let o = self.checkpoints.store.as_ref()?;
        let path = object_store::path::Path::from(format!("{}/plugins/{sha256}.wasm", o.prefix));
        Some((o.store.clone(), path))
    }

    /// Keeps a plugin a client uploaded: compiled here, and its bytes in the checkpoint store
    /// (`plugins/SHA256.wasm`, which every node of a cluster shares), so any node can load it by
    /// hash. Returns the sha256.
    pub async fn put_plugin(&self, bytes: Vec<u8>, origin: &str) -> Result<String, String> {
        use object_store::ObjectStoreExt as _;
        let plugin = self
            .runtime
            .load_bytes(&bytes, origin)
            .await
            .map_err(|e| e.to_string())?;
        let sha = plugin.sha256.clone();
        let (store, path) = self
            .plugin_path(&sha)
            .ok_or("this node has no checkpoint store to keep plugins in")?;
        if store.head(&path).await.is_err() {
            store
                .put(&path, bytes.into())
                .await
                .map_err(|e| format!("cannot keep {origin} in the checkpoint store: {e}"))?;
        }
        Ok(sha)
    }

    /// Loads the component with this sha256 from the checkpoint store (an uploaded plugin)
    /// unless this process has it; `Ok(false)` when the store does not keep it.
    pub async fn load_stored(&self, sha256: &str, what: &str) -> Result<bool, Failure> {
        use object_store::ObjectStoreExt as _;
        if self.runtime.loaded(sha256).is_some() {
            return Ok(true);
        }
        let Some((store, path)) = self.plugin_path(sha256) else {
            return Ok(false);
        };
        let Ok(got) = store.get(&path).await else {
            return Ok(false);
        };
        let bytes = got.bytes().await.map_err(|e| {
            Failure::new(
                FailureKind::Load,
                format!("{what}: cannot fetch {path}: {e}"),
            )
        })?;
        let plugin = self
            .runtime
            .load_bytes(&bytes, what)
            .await
            .map_err(|e| Failure::new(FailureKind::Load, format!("{what}: {e}")))?;
        if !plugin.sha256.eq_ignore_ascii_case(sha256) {
            return Err(Failure::new(
                FailureKind::Load,
                format!(
                    "{what}: the stored component {path} hashes to {}, not {sha256}; refusing to run it",
                    plugin.sha256
                ),
            ));
        }
        Ok(true)
    }

    /// Loads every component of `plan` that this process has not loaded and the checkpoint
    /// store keeps (uploaded with the job). The others are left to [`Engine::open`]
    /// (built-ins, plugin-dirs, paths on this node).
    pub async fn fetch_plugins(&self, plan: &JobPlan) -> Result<(), Failure> {
        for v in &plan.vertices {
            self.load_stored(&v.plugin.sha256, &v.path).await?;
        }
        Ok(())
    }

    /// Opens `plan` on this node.
    pub async fn open(&self, plan: JobPlan) -> Result<PreparedJob, Failure> {
        let mut plugins = Vec::new();
        let mut sandboxes = Vec::new();
        for v in &plan.vertices {
            let (p, s) = open_vertex(&self.runtime, v).await?;
            plugins.push(p);
            sandboxes.push(s);
        }
        Ok(PreparedJob {
            plan,
            loads: Vec::new(),
            plugins,
            sandboxes,
            cancel: CancelToken::default(),
            savepoint: CancelToken::default(),
            events: broadcast::channel(4096).0,
        })
    }
}
