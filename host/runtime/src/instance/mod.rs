//! Typed task instances: each owns one `Store` and one instance of its plugin. Batches coming
//! out of a guest are checked against the declared schema before the host uses them. The
//! instances of each plugin kind are in their own module.

mod sink;
mod source;
mod transform;

pub use sink::{SinkCommitterInstance, SinkWriterInstance};
pub use source::{EnumeratorInstance, ReaderInstance};
pub use transform::TransformInstance;

use std::sync::Arc;

use st_core::{Batch, DataType, OptionSpec, OptionType, PluginInfo, PluginKind, TableSchema};
use st_world::conv;
use st_world::types as wit;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::state::Interrupted;
use crate::state::TaskState;
use crate::{CancelToken, Plugin, PluginError, Runtime, RuntimeError, SandboxSpec};

/// Where a task instance runs (the WIT `task-context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    pub job_id: String,
    pub job_name: String,
    /// e.g. `source[0](FakeSource)`.
    pub plugin_path: String,
    pub subtask: u32,
    pub parallelism: u32,
    pub bounded: bool,
    /// The plugin's limits and grants in this job.
    pub sandbox: Arc<SandboxSpec>,
    /// The job's cancel switch.
    pub cancel: CancelToken,
}

impl TaskContext {
    fn to_wit(&self) -> wit::TaskContext {
        wit::TaskContext {
            job_id: self.job_id.clone(),
            job_name: self.job_name.clone(),
            plugin_path: self.plugin_path.clone(),
            subtask: self.subtask,
            parallelism: self.parallelism,
            bounded: self.bounded,
        }
    }

    /// A task id for messages: `source[0](FakeSource)#1`.
    pub fn task_id(&self) -> String {
        format!("{}#{}", self.plugin_path, self.subtask)
    }
}

/// A split as the engine carries it: opaque to everyone but its plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub id: String,
    pub data: Vec<u8>,
}

impl From<wit::Split> for Split {
    fn from(s: wit::Split) -> Self {
        Split {
            id: s.id,
            data: s.data,
        }
    }
}

fn split_to_wit(s: &Split) -> wit::Split {
    wit::Split {
        id: s.id.clone(),
        data: s.data.clone(),
    }
}

/// What a source declares.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub tables: Vec<TableSchema>,
    pub bounded: bool,
}

/// One enumeration step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Enumeration {
    pub assignments: Vec<(u32, Split)>,
    pub no_more_splits: bool,
}

/// A reader's poll status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    More,
    Idle,
    Finished,
}

/// One plugin instance in its own store.
struct Sandbox {
    store: Store<TaskState>,
    plugin: Arc<Plugin>,
    task: String,
}

impl Sandbox {
    /// The store, for one call into the guest: starts the call's timeout clock.
    fn call(&mut self) -> &mut Store<TaskState> {
        self.store.data_mut().call_started = std::time::Instant::now();
        &mut self.store
    }

    fn trap(&self, e: &wasmtime::Error) -> RuntimeError {
        let state = self.store.data();
        let mut message = if let Some(i) = e.downcast_ref::<Interrupted>() {
            match i {
                Interrupted::Cancelled => {
                    return RuntimeError::Cancelled {
                        plugin: self.plugin.info.name.clone(),
                        task: self.task.clone(),
                    };
                }
                Interrupted::Timeout(t) => format!(
                    "stopped: one call ran longer than the call timeout of {} ms (a busy loop?)",
                    t.as_millis()
                ),
            }
        } else {
            match e.downcast_ref::<wasmtime::Trap>() {
                Some(t) => t.to_string(),
                None => format!("{}", e.root_cause()),
            }
        };
        if state.limits_hit() {
            message = format!(
                "{message} (the instance hit its memory limit of {} MiB)",
                state.max_memory() >> 20
            );
        }
        message.push_str(&self.denied_note());
        let stderr = self.store.data().stderr_summary();
        if !stderr.is_empty() {
            message = format!("{message}; the plugin wrote: {stderr}");
        }
        RuntimeError::Trap {
            plugin: self.plugin.info.name.clone(),
            task: self.task.clone(),
            message,
        }
    }

    fn fail(&self, e: wit::PluginError) -> RuntimeError {
        let mut error = PluginError::from(e);
        let note = self.denied_note();
        if !note.is_empty() {
            match &mut error {
                PluginError::InvalidOption { message, .. }
                | PluginError::Retriable(message)
                | PluginError::Fatal(message) => message.push_str(&note),
            }
        }
        RuntimeError::Plugin {
            plugin: self.plugin.info.name.clone(),
            task: self.task.clone(),
            error,
        }
    }

    /// `; the sandbox denied: connect to 10.0.0.1:80 (not granted by the job)`, or nothing.
    fn denied_note(&self) -> String {
        let denied = self.store.data().denied();
        if denied.is_empty() {
            String::new()
        } else {
            format!(
                "; the sandbox denied: {} (not granted by the job's sandbox.network)",
                denied.join(", ")
            )
        }
    }

    fn contract(&self, message: String) -> RuntimeError {
        RuntimeError::Contract {
            plugin: self.plugin.info.name.clone(),
            task: self.task.clone(),
            message,
        }
    }

    /// Unwraps a call: a trap first, then the plugin's own error.
    fn result<T>(
        &self,
        r: wasmtime::Result<Result<T, wit::PluginError>>,
    ) -> Result<T, RuntimeError> {
        match r {
            Err(e) => Err(self.trap(&e)),
            Ok(Err(e)) => Err(self.fail(e)),
            Ok(Ok(v)) => Ok(v),
        }
    }

    fn check_batch(
        &self,
        b: wit::Batch,
        tables: &[(Vec<DataType>, Vec<String>)],
    ) -> Result<Batch, RuntimeError> {
        let batch =
            conv::batch_from_wit(b).map_err(|e| self.contract(format!("malformed batch: {e}")))?;
        let Some((types, names)) = tables.get(batch.table as usize) else {
            return Err(self.contract(format!(
                "batch names table {} but only {} are declared",
                batch.table,
                tables.len()
            )));
        };
        batch.check(types, names).map_err(|e| {
            self.contract(format!("malformed batch for table {}: {e}", batch.table))
        })?;
        Ok(batch)
    }
}

fn table_types(tables: &[TableSchema]) -> Vec<(Vec<DataType>, Vec<String>)> {
    tables
        .iter()
        .map(|t| {
            (
                t.row_type(),
                t.columns.iter().map(|c| c.name.clone()).collect(),
            )
        })
        .collect()
}

fn schemas_from_wit(
    sb: &Sandbox,
    list: Vec<wit::TableSchema>,
) -> Result<Vec<TableSchema>, RuntimeError> {
    list.into_iter()
        .map(|s| {
            conv::schema_from_wit(s).map_err(|e| sb.contract(format!("malformed schema: {e}")))
        })
        .collect()
}

fn info_from_wit(i: wit::PluginInfo) -> PluginInfo {
    PluginInfo {
        name: i.name,
        kind: match i.kind {
            wit::PluginKind::Source => PluginKind::Source,
            wit::PluginKind::Transform => PluginKind::Transform,
            wit::PluginKind::Sink => PluginKind::Sink,
        },
        version: i.version,
        options: i
            .options
            .into_iter()
            .map(|o| OptionSpec {
                name: o.name,
                option_type: match o.option_type {
                    wit::OptionType::Boolean => OptionType::Boolean,
                    wit::OptionType::Integer => OptionType::Integer,
                    wit::OptionType::Number => OptionType::Number,
                    wit::OptionType::String => OptionType::String,
                    wit::OptionType::List => OptionType::List,
                    wit::OptionType::Object => OptionType::Object,
                    wit::OptionType::Any => OptionType::Any,
                },
                required: o.required,
                default_value: o.default_value,
                doc: o.doc,
            })
            .collect(),
        grants: Vec::new(),
    }
}

enum Bindings {
    Source(st_world::source::SourcePlugin),
    Transform(st_world::transform::TransformPlugin),
    Sink(st_world::sink::SinkPlugin),
}

/// Instantiates a component in `store` through the bindings of the world of `kind`.
async fn bindings(
    kind: PluginKind,
    pre: &InstancePre<TaskState>,
    store: &mut Store<TaskState>,
) -> wasmtime::Result<Bindings> {
    Ok(match kind {
        PluginKind::Source => Bindings::Source(
            st_world::source::SourcePluginPre::new(pre.clone())?
                .instantiate_async(store)
                .await?,
        ),
        PluginKind::Transform => Bindings::Transform(
            st_world::transform::TransformPluginPre::new(pre.clone())?
                .instantiate_async(store)
                .await?,
        ),
        PluginKind::Sink => Bindings::Sink(
            st_world::sink::SinkPluginPre::new(pre.clone())?
                .instantiate_async(store)
                .await?,
        ),
    })
}

async fn instantiate(
    rt: &Runtime,
    plugin: &Arc<Plugin>,
    task: &str,
    ctx: &TaskContext,
) -> Result<(Sandbox, Bindings), RuntimeError> {
    let mut store = rt.store(plugin, task, &ctx.sandbox, &ctx.cancel)?;
    let b = bindings(plugin.info.kind, &plugin.pre, &mut store).await;
    let sb = Sandbox {
        store,
        plugin: plugin.clone(),
        task: task.to_string(),
    };
    match b {
        Ok(b) => Ok((sb, b)),
        Err(e) => Err(sb.trap(&e)),
    }
}

/// Instantiates a freshly compiled plugin and calls `describe()`.
pub(crate) async fn describe(
    rt: &Runtime,
    plugin: &Plugin,
    kind: PluginKind,
) -> Result<PluginInfo, RuntimeError> {
    let origin = plugin.origin.clone();
    let load_err = |message: String| RuntimeError::Load {
        plugin: origin.clone(),
        message,
    };
    let mut store = rt
        .store(
            plugin,
            "describe",
            &rt.default_sandbox(),
            &CancelToken::default(),
        )
        .map_err(|e| load_err(e.to_string()))?;
    let stderr = |store: &Store<TaskState>| {
        let s = store.data().stderr_summary();
        if s.is_empty() {
            String::new()
        } else {
            format!("; the plugin wrote: {s}")
        }
    };
    // `plugin.info` is what this call learns: the kind comes from the component's exports.
    let instance = plugin
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| load_err(format!("cannot be instantiated: {e:#}")))?;
    let info = match kind {
        PluginKind::Source => match st_world::source::SourcePlugin::new(&mut store, &instance) {
            Ok(b) => b.strait_connector_source().call_describe(&mut store).await,
            Err(e) => Err(e),
        },
        PluginKind::Transform => {
            match st_world::transform::TransformPlugin::new(&mut store, &instance) {
                Ok(b) => {
                    b.strait_connector_transform()
                        .call_describe(&mut store)
                        .await
                }
                Err(e) => Err(e),
            }
        }
        PluginKind::Sink => match st_world::sink::SinkPlugin::new(&mut store, &instance) {
            Ok(b) => b.strait_connector_sink().call_describe(&mut store).await,
            Err(e) => Err(e),
        },
    };
    let mut info = match info {
        Ok(i) => info_from_wit(i),
        Err(e) => {
            return Err(load_err(format!(
                "crashed in describe(): {}{}",
                e.root_cause(),
                stderr(&store)
            )));
        }
    };
    // The optional `grants` export: a plugin without it declares nothing.
    if let Ok(g) = st_world::grants::GrantsPlugin::new(&mut store, &instance) {
        use st_world::grants::exports::strait::connector::grants::Access as W;
        let declared = g
            .strait_connector_grants()
            .call_declared(&mut store)
            .await
            .map_err(|e| {
                load_err(format!(
                    "crashed in grants.declared(): {}{}",
                    e.root_cause(),
                    stderr(&store)
                ))
            })?;
        for d in declared {
            if !info.options.iter().any(|o| o.name == d.name) {
                return Err(load_err(format!(
                    "declares a grant for `{}`, which is not one of its options",
                    d.name
                )));
            }
            info.grants.push(st_core::OptionGrant {
                option: d.name,
                access: match d.access {
                    W::Read => st_core::Access::Read,
                    W::ReadWrite => st_core::Access::ReadWrite,
                    W::Connect => st_core::Access::Connect,
                },
            });
        }
    }
    Ok(info)
}

fn wrong_kind(plugin: &Plugin, want: PluginKind) -> RuntimeError {
    RuntimeError::Load {
        plugin: plugin.info.name.clone(),
        message: format!("is a {}, not a {want}", plugin.info.kind),
    }
}

impl Runtime {
    /// Opens a source on a short-lived instance to learn its tables.
    pub async fn open_source(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
    ) -> Result<SourceInfo, RuntimeError> {
        let (mut sb, b) = instantiate(self, plugin, &ctx.task_id(), ctx).await?;
        let Bindings::Source(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Source));
        };
        let r = b
            .strait_connector_source()
            .call_open(sb.call(), options, &ctx.to_wit())
            .await;
        let info = sb.result(r)?;
        Ok(SourceInfo {
            tables: schemas_from_wit(&sb, info.tables)?,
            bounded: info.bounded,
        })
    }

    pub async fn enumerator(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
        state: Option<Vec<u8>>,
    ) -> Result<EnumeratorInstance, RuntimeError> {
        let (mut sb, b) = instantiate(
            self,
            plugin,
            &format!("{}.enumerator", ctx.plugin_path),
            ctx,
        )
        .await?;
        let Bindings::Source(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Source));
        };
        let r = b
            .strait_connector_source()
            .split_enumerator()
            .call_create(sb.call(), options, &ctx.to_wit(), state.as_deref())
            .await;
        let res = sb.result(r)?;
        Ok(EnumeratorInstance { sb, b, res })
    }

    pub async fn reader(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
        restored: &[Split],
        tables: &[TableSchema],
    ) -> Result<ReaderInstance, RuntimeError> {
        let (mut sb, b) = instantiate(self, plugin, &ctx.task_id(), ctx).await?;
        let Bindings::Source(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Source));
        };
        let splits: Vec<wit::Split> = restored.iter().map(split_to_wit).collect();
        let r = b
            .strait_connector_source()
            .split_reader()
            .call_create(sb.call(), options, &ctx.to_wit(), &splits)
            .await;
        let res = sb.result(r)?;
        Ok(ReaderInstance {
            sb,
            b,
            res,
            tables: table_types(tables),
        })
    }

    pub async fn transform(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
        inputs: &[TableSchema],
    ) -> Result<TransformInstance, RuntimeError> {
        let (mut sb, b) = instantiate(self, plugin, &ctx.task_id(), ctx).await?;
        let Bindings::Transform(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Transform));
        };
        let wit_inputs: Vec<wit::TableSchema> = inputs.iter().map(conv::schema_to_wit).collect();
        let t = b.strait_connector_transform().transformer();
        let r = t
            .call_create(sb.call(), options, &ctx.to_wit(), &wit_inputs)
            .await;
        let res = sb.result(r)?;
        let outs = t
            .call_output_schemas(sb.call(), res)
            .await
            .map_err(|e| sb.trap(&e))?;
        let outputs = schemas_from_wit(&sb, outs)?;
        let tables = table_types(&outputs);
        Ok(TransformInstance {
            sb,
            b,
            res,
            outputs,
            tables,
        })
    }

    pub async fn sink_writer(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
        tables: &[TableSchema],
        restored: &[Vec<u8>],
    ) -> Result<SinkWriterInstance, RuntimeError> {
        let (mut sb, b) = instantiate(self, plugin, &ctx.task_id(), ctx).await?;
        let Bindings::Sink(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Sink));
        };
        let wit_tables: Vec<wit::TableSchema> = tables.iter().map(conv::schema_to_wit).collect();
        let r = b
            .strait_connector_sink()
            .sink_writer()
            .call_create(sb.call(), options, &ctx.to_wit(), &wit_tables, restored)
            .await;
        let res = sb.result(r)?;
        Ok(SinkWriterInstance { sb, b, res })
    }

    pub async fn sink_committer(
        &self,
        plugin: &Arc<Plugin>,
        options: &str,
        ctx: &TaskContext,
        tables: &[TableSchema],
    ) -> Result<SinkCommitterInstance, RuntimeError> {
        let (mut sb, b) =
            instantiate(self, plugin, &format!("{}.committer", ctx.plugin_path), ctx).await?;
        let Bindings::Sink(b) = b else {
            return Err(wrong_kind(plugin, PluginKind::Sink));
        };
        let wit_tables: Vec<wit::TableSchema> = tables.iter().map(conv::schema_to_wit).collect();
        let r = b
            .strait_connector_sink()
            .sink_committer()
            .call_create(sb.call(), options, &ctx.to_wit(), &wit_tables)
            .await;
        let res = sb.result(r)?;
        Ok(SinkCommitterInstance { sb, b, res })
    }
}
