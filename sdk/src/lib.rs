//! `st-sdk`: write Strait connectors in Rust and ship each as one `.wasm` component.
//!
//! Implement one trait — [`Source`], [`Transform`] or [`Sink`] — and call the matching export
//! macro ([`export_source!`], [`export_transform!`], [`export_sink!`]). The SDK owns the
//! generated WIT bindings, moves batches across the boundary, parses options against the
//! specs the plugin declares and turns errors into the contract's variants. A plugin author
//! writes no WIT glue and no `unsafe`.
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the output is a component.

use std::cell::RefCell;
use std::marker::PhantomData;

pub use st_core::{
    Access, Batch, Column, ColumnBuilder, ColumnData, ColumnDef, ConstraintKey, ConstraintType,
    DataError, DataType, Field, OptionGrant, OptionSpec, OptionType, PluginInfo, PluginKind,
    PrimaryKey, RowKind, SortOrder, TableSchema, Value, VarWidth, format_date, format_decimal,
    format_time, format_timestamp, java_double, parse_date, parse_decimal, parse_time,
    parse_timestamp, text,
};

pub mod fs;
mod options;
pub mod schema;
mod tables;
pub use options::{OptionSpecs, Options};

#[doc(hidden)]
pub mod source_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "source-plugin",
        pub_export_macro: true,
        export_macro_name: "export_source_world",
        default_bindings_module: "st_sdk::source_world",
        generate_all,
    });
}

#[doc(hidden)]
pub mod transform_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "transform-plugin",
        pub_export_macro: true,
        export_macro_name: "export_transform_world",
        default_bindings_module: "st_sdk::transform_world",
        with: {
            "strait:connector/types@0.1.0": crate::source_world::strait::connector::types,
            "strait:connector/host@0.1.0": crate::source_world::strait::connector::host,
        },
    });
}

#[doc(hidden)]
pub mod sink_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "sink-plugin",
        pub_export_macro: true,
        export_macro_name: "export_sink_world",
        default_bindings_module: "st_sdk::sink_world",
        with: {
            "strait:connector/types@0.1.0": crate::source_world::strait::connector::types,
            "strait:connector/host@0.1.0": crate::source_world::strait::connector::host,
        },
    });
}

#[doc(hidden)]
pub mod grants_world {
    wit_bindgen::generate!({
        path: "../wit",
        world: "grants-plugin",
        pub_export_macro: true,
        export_macro_name: "export_grants_world",
        default_bindings_module: "st_sdk::grants_world",
    });
}

use source_world::strait::connector::types as wit;

mod conv {
    st_core::wit_conversions!(crate::source_world::strait::connector::types);
}

/// What a plugin call returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A plugin error, as the contract carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An option is missing or wrong: the job config must change.
    InvalidOption { option: String, message: String },
    /// A transient failure: retrying may succeed.
    Retriable(String),
    /// The data or state is unusable.
    Fatal(String),
}

impl Error {
    pub fn invalid_option(option: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidOption {
            option: option.into(),
            message: message.into(),
        }
    }

    pub fn fatal(message: impl Into<String>) -> Error {
        Error::Fatal(message.into())
    }

    pub fn retriable(message: impl Into<String>) -> Error {
        Error::Retriable(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidOption { option, message } => write!(f, "option `{option}`: {message}"),
            Error::Retriable(m) | Error::Fatal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for wit::PluginError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidOption { option, message } => {
                wit::PluginError::InvalidOption(wit::OptionProblem { option, message })
            }
            Error::Retriable(m) => wit::PluginError::Retriable(m),
            Error::Fatal(m) => wit::PluginError::Fatal(m),
        }
    }
}

/// Where an instance runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskContext {
    pub job_id: String,
    pub job_name: String,
    /// The plugin's place in the job, e.g. `sink[0]`.
    pub plugin_path: String,
    pub subtask: u32,
    pub parallelism: u32,
    /// True for BATCH jobs.
    pub bounded: bool,
}

impl From<wit::TaskContext> for TaskContext {
    fn from(c: wit::TaskContext) -> Self {
        TaskContext {
            job_id: c.job_id,
            job_name: c.job_name,
            plugin_path: c.plugin_path,
            subtask: c.subtask,
            parallelism: c.parallelism,
            bounded: c.bounded,
        }
    }
}

/// A unit of work handed from a source's enumerator to a reader.
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

impl From<Split> for wit::Split {
    fn from(s: Split) -> Self {
        wit::Split {
            id: s.id,
            data: s.data,
        }
    }
}

/// Logging into the engine's log, tagged with the plugin and task.
pub mod log {
    use crate::source_world::strait::connector::host;

    pub fn trace(msg: &str) {
        host::log(host::LogLevel::Trace, msg);
    }
    pub fn debug(msg: &str) {
        host::log(host::LogLevel::Debug, msg);
    }
    pub fn info(msg: &str) {
        host::log(host::LogLevel::Info, msg);
    }
    pub fn warn(msg: &str) {
        host::log(host::LogLevel::Warn, msg);
    }
    pub fn error(msg: &str) {
        host::log(host::LogLevel::Error, msg);
    }

    /// Adds to a named counter in the job's metrics.
    pub fn counter_add(name: &str, delta: u64) {
        host::counter_add(name, delta);
    }
}

/// A plugin's self-description: name, version and options. Every plugin kind implements it.
pub trait Describe {
    /// The name job configs use, e.g. `FakeSource`.
    const NAME: &'static str;
    /// The plugin's version.
    const VERSION: &'static str = "0.1.0";
    /// The options the plugin accepts; the host rejects a job whose options do not fit.
    fn options() -> OptionSpecs;
    /// Which of those options name what the plugin reaches: files and directories it reads,
    /// directories it writes, addresses it connects to. The engine grants exactly what a job
    /// gives them (bounded by the node's policy), so the job needs no `sandbox` block.
    fn grants() -> Vec<OptionGrant> {
        Vec::new()
    }
}

/// Exports a plugin's [`Describe::grants`] beside its plugin world.
#[doc(hidden)]
pub struct GrantsExport<T>(PhantomData<T>);

impl<T: Describe> grants_world::exports::strait::connector::grants::Guest for GrantsExport<T> {
    fn declared() -> Vec<grants_world::exports::strait::connector::grants::OptionGrant> {
        use grants_world::exports::strait::connector::grants as g;
        T::grants()
            .into_iter()
            .map(|o| g::OptionGrant {
                name: o.option,
                access: match o.access {
                    Access::Read => g::Access::Read,
                    Access::ReadWrite => g::Access::ReadWrite,
                    Access::Connect => g::Access::Connect,
                },
            })
            .collect()
    }
}

/// The position of field `name` in `table`, or an error on `option` that lists the fields the
/// table has.
pub fn field_index(table: &TableSchema, name: &str, option: &str) -> Result<usize> {
    table.index_of(name).ok_or_else(|| {
        Error::invalid_option(
            option,
            format!(
                "table {} has no field `{name}`; its fields: {}",
                table.table_path,
                table
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// A list option of strings (e.g. `include_fields = [a, b]`).
pub fn string_list(options: &Options, name: &str) -> Result<Option<Vec<String>>> {
    Ok(match options.list(name)? {
        None => None,
        Some(items) => Some(
            items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    other => Err(Error::invalid_option(
                        name,
                        format!("expected a list of names, found {other}"),
                    )),
                })
                .collect::<Result<_>>()?,
        ),
    })
}

fn info<T: Describe>(kind: PluginKind) -> wit::PluginInfo {
    wit::PluginInfo {
        name: T::NAME.to_string(),
        kind: match kind {
            PluginKind::Source => wit::PluginKind::Source,
            PluginKind::Transform => wit::PluginKind::Transform,
            PluginKind::Sink => wit::PluginKind::Sink,
        },
        version: T::VERSION.to_string(),
        options: T::options()
            .0
            .into_iter()
            .map(|o| wit::OptionSpec {
                name: o.name,
                option_type: match o.option_type {
                    OptionType::Boolean => wit::OptionType::Boolean,
                    OptionType::Integer => wit::OptionType::Integer,
                    OptionType::Number => wit::OptionType::Number,
                    OptionType::String => wit::OptionType::String,
                    OptionType::List => wit::OptionType::List,
                    OptionType::Object => wit::OptionType::Object,
                    OptionType::Any => wit::OptionType::Any,
                },
                required: o.required,
                default_value: o.default_value,
                doc: o.doc,
            })
            .collect(),
    }
}

fn options<T: Describe>(json: &str) -> Result<Options> {
    Options::parse(json, T::options())
}

fn schemas(list: Vec<wit::TableSchema>) -> Result<Vec<TableSchema>> {
    list.into_iter()
        .map(|s| conv::schema_from_wit(s).map_err(Error::Fatal))
        .collect()
}

fn batch_in(b: wit::Batch) -> Result<Batch> {
    conv::batch_from_wit(b).map_err(|e| Error::fatal(format!("malformed batch from the host: {e}")))
}

// ---- sources ----------------------------------------------------------------------------

/// What a source declares when opened.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub tables: Vec<TableSchema>,
    /// False when the source never ends by itself.
    pub bounded: bool,
}

/// What one enumeration step hands out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Enumeration {
    /// (reader index, split) pairs.
    pub assignments: Vec<(u32, Split)>,
    pub no_more_splits: bool,
}

/// The result of polling a reader.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    /// A batch; more may follow right away.
    Batch(Batch),
    /// A last batch (possibly empty) before the reader finishes.
    Finished(Option<Batch>),
    /// Nothing now; poll again later.
    Idle,
}

/// A source connector (SeaTunnel's SeaTunnelSource).
pub trait Source: Describe + 'static {
    type Enumerator: SplitEnumerator;
    type Reader: SplitReader;

    /// Validates options and declares the tables this source produces.
    fn open(options: &Options, ctx: &TaskContext) -> Result<SourceInfo>;
    /// Creates the enumerator, restored from `state` when the job resumes.
    fn enumerator(
        options: &Options,
        ctx: &TaskContext,
        state: Option<Vec<u8>>,
    ) -> Result<Self::Enumerator>;
    /// Creates reader number `ctx.subtask`, restored with its checkpointed splits.
    fn reader(options: &Options, ctx: &TaskContext, restored: Vec<Split>) -> Result<Self::Reader>;
}

/// Plans splits and assigns them to readers.
pub trait SplitEnumerator: 'static {
    fn enumerate(&mut self) -> Result<Enumeration>;
    fn add_splits_back(&mut self, reader: u32, splits: Vec<Split>) -> Result<()>;
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<u8>>;
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }
}

/// Reads the splits assigned to one subtask.
pub trait SplitReader: 'static {
    fn add_splits(&mut self, splits: Vec<Split>) -> Result<()>;
    fn no_more_splits(&mut self);
    /// Returns about `max_rows` rows at most.
    fn poll_next(&mut self, max_rows: u32) -> Result<Poll>;
    /// The state of every unfinished split.
    fn snapshot_state(&mut self, checkpoint_id: u64) -> Result<Vec<Split>>;
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64) -> Result<()> {
        Ok(())
    }
}

#[doc(hidden)]
pub struct SourceExport<T>(PhantomData<T>);

#[doc(hidden)]
pub struct EnumeratorRes<T: Source>(RefCell<T::Enumerator>);

#[doc(hidden)]
pub struct ReaderRes<T: Source>(RefCell<T::Reader>);

mod source_impl {
    use super::*;
    use crate::source_world::exports::strait::connector::source as s;

    impl<T: Source> s::Guest for SourceExport<T> {
        type SplitEnumerator = EnumeratorRes<T>;
        type SplitReader = ReaderRes<T>;

        fn describe() -> wit::PluginInfo {
            info::<T>(PluginKind::Source)
        }

        fn open(options: String, ctx: wit::TaskContext) -> Result<s::SourceInfo, wit::PluginError> {
            let opts = super::options::<T>(&options)?;
            let info = T::open(&opts, &ctx.into())?;
            Ok(s::SourceInfo {
                tables: info.tables.iter().map(conv::schema_to_wit).collect(),
                bounded: info.bounded,
            })
        }
    }

    impl<T: Source> s::GuestSplitEnumerator for EnumeratorRes<T> {
        fn create(
            options: String,
            ctx: wit::TaskContext,
            state: Option<Vec<u8>>,
        ) -> Result<s::SplitEnumerator, wit::PluginError> {
            let opts = super::options::<T>(&options)?;
            let e = T::enumerator(&opts, &ctx.into(), state)?;
            Ok(s::SplitEnumerator::new(EnumeratorRes::<T>(RefCell::new(e))))
        }

        fn enumerate(&self) -> Result<s::Enumeration, wit::PluginError> {
            let e = self.0.borrow_mut().enumerate()?;
            Ok(s::Enumeration {
                assignments: e
                    .assignments
                    .into_iter()
                    .map(|(reader, split)| s::Assignment {
                        reader,
                        split: split.into(),
                    })
                    .collect(),
                no_more_splits: e.no_more_splits,
            })
        }

        fn add_splits_back(
            &self,
            reader: u32,
            splits: Vec<wit::Split>,
        ) -> Result<(), wit::PluginError> {
            Ok(self
                .0
                .borrow_mut()
                .add_splits_back(reader, splits.into_iter().map(Into::into).collect())?)
        }

        fn snapshot_state(&self, checkpoint_id: u64) -> Result<Vec<u8>, wit::PluginError> {
            Ok(self.0.borrow_mut().snapshot_state(checkpoint_id)?)
        }

        fn notify_checkpoint_complete(&self, checkpoint_id: u64) -> Result<(), wit::PluginError> {
            Ok(self
                .0
                .borrow_mut()
                .notify_checkpoint_complete(checkpoint_id)?)
        }
    }

    impl<T: Source> s::GuestSplitReader for ReaderRes<T> {
        fn create(
            options: String,
            ctx: wit::TaskContext,
            restored: Vec<wit::Split>,
        ) -> Result<s::SplitReader, wit::PluginError> {
            let opts = super::options::<T>(&options)?;
            let r = T::reader(
                &opts,
                &ctx.into(),
                restored.into_iter().map(Into::into).collect(),
            )?;
            Ok(s::SplitReader::new(ReaderRes::<T>(RefCell::new(r))))
        }

        fn add_splits(&self, splits: Vec<wit::Split>) -> Result<(), wit::PluginError> {
            Ok(self
                .0
                .borrow_mut()
                .add_splits(splits.into_iter().map(Into::into).collect())?)
        }

        fn no_more_splits(&self) {
            self.0.borrow_mut().no_more_splits();
        }

        fn poll_next(&self, max_rows: u32) -> Result<s::Poll, wit::PluginError> {
            Ok(match self.0.borrow_mut().poll_next(max_rows)? {
                Poll::Batch(b) => s::Poll {
                    batch: Some(conv::batch_to_wit(b)),
                    status: s::PollStatus::More,
                },
                Poll::Finished(b) => s::Poll {
                    batch: b.map(conv::batch_to_wit),
                    status: s::PollStatus::Finished,
                },
                Poll::Idle => s::Poll {
                    batch: None,
                    status: s::PollStatus::Idle,
                },
            })
        }

        fn snapshot_state(&self, checkpoint_id: u64) -> Result<Vec<wit::Split>, wit::PluginError> {
            Ok(self
                .0
                .borrow_mut()
                .snapshot_state(checkpoint_id)?
                .into_iter()
                .map(Into::into)
                .collect())
        }

        fn notify_checkpoint_complete(&self, checkpoint_id: u64) -> Result<(), wit::PluginError> {
            Ok(self
                .0
                .borrow_mut()
                .notify_checkpoint_complete(checkpoint_id)?)
        }
    }
}

/// Exports a [`Source`] implementation as this component's source.
#[macro_export]
macro_rules! export_source {
    ($t:ty) => {
        // Only a wasm build exports anything: natively the plugin is an ordinary library
        // (for unit tests and native baselines).
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __StraitSourceExport = $crate::SourceExport<$t>;
            $crate::source_world::export_source_world!(__StraitSourceExport with_types_in $crate::source_world);
            type __StraitGrantsExport = $crate::GrantsExport<$t>;
            $crate::grants_world::export_grants_world!(__StraitGrantsExport with_types_in $crate::grants_world);
        };
    };
}

// ---- transforms -------------------------------------------------------------------------

/// A transform (SeaTunnel's SeaTunnelTransform), multi-table aware: output table i is
/// produced from input table i.
pub trait Transform: Describe + Sized + 'static {
    /// Validates options against the input tables.
    fn create(options: &Options, ctx: &TaskContext, inputs: Vec<TableSchema>) -> Result<Self>;
    /// The output tables, one per input table.
    fn output_schemas(&self) -> Vec<TableSchema>;
    /// Maps one batch of input table `input.table` to batches of output tables.
    fn map(&mut self, input: Batch) -> Result<Vec<Batch>>;
}

#[doc(hidden)]
pub struct TransformExport<T>(PhantomData<T>);

#[doc(hidden)]
pub struct TransformerRes<T>(RefCell<tables::Tables<T>>);

mod transform_impl {
    use super::*;
    use crate::transform_world::exports::strait::connector::transform as t;

    impl<T: Transform> t::Guest for TransformExport<T> {
        type Transformer = TransformerRes<T>;

        fn describe() -> wit::PluginInfo {
            info::<T>(PluginKind::Transform)
        }
    }

    impl<T: Transform> t::GuestTransformer for TransformerRes<T> {
        fn create(
            options: String,
            ctx: wit::TaskContext,
            inputs: Vec<wit::TableSchema>,
        ) -> Result<t::Transformer, wit::PluginError> {
            let inner = tables::Tables::<T>::create(&options, &ctx.into(), schemas(inputs)?)?;
            Ok(t::Transformer::new(TransformerRes(RefCell::new(inner))))
        }

        fn output_schemas(&self) -> Vec<wit::TableSchema> {
            self.0
                .borrow()
                .output_schemas()
                .iter()
                .map(conv::schema_to_wit)
                .collect()
        }

        fn map(&self, input: wit::Batch) -> Result<Vec<wit::Batch>, wit::PluginError> {
            let out = self.0.borrow_mut().map(batch_in(input)?)?;
            Ok(out.into_iter().map(conv::batch_to_wit).collect())
        }
    }
}

/// Exports a [`Transform`] implementation as this component's transform.
#[macro_export]
macro_rules! export_transform {
    ($t:ty) => {
        // Only a wasm build exports anything: natively the plugin is an ordinary library
        // (for unit tests and native baselines).
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __StraitTransformExport = $crate::TransformExport<$t>;
            $crate::transform_world::export_transform_world!(__StraitTransformExport with_types_in $crate::transform_world);
            type __StraitGrantsExport = $crate::GrantsExport<$t>;
            $crate::grants_world::export_grants_world!(__StraitGrantsExport with_types_in $crate::grants_world);
        };
    };
}

// ---- sinks ------------------------------------------------------------------------------

/// A sink connector (SeaTunnel's SeaTunnelSink): writers plus one committer.
pub trait Sink: Describe + 'static {
    type Writer: SinkWriter;
    type Committer: SinkCommitter;

    /// Creates writer number `ctx.subtask` for `tables`, restored from writer states.
    fn writer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
        restored: Vec<Vec<u8>>,
    ) -> Result<Self::Writer>;
    /// Creates the job's committer.
    fn committer(
        options: &Options,
        ctx: &TaskContext,
        tables: Vec<TableSchema>,
    ) -> Result<Self::Committer>;
}

/// Writes batches and prepares commits at checkpoint barriers.
pub trait SinkWriter: 'static {
    fn write(&mut self, batch: Batch) -> Result<()>;
    /// Returns the info the committer needs, if anything was written since the last prepare.
    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Option<Vec<u8>>>;
    fn snapshot_state(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
    fn abort_prepare(&mut self) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Commits prepared writes once a checkpoint is durable. Commits must be idempotent.
pub trait SinkCommitter: 'static {
    /// Returns the infos that must be retried.
    fn commit(&mut self, checkpoint_id: u64, infos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>>;
    fn abort(&mut self, _infos: Vec<Vec<u8>>) -> Result<()> {
        Ok(())
    }
    /// The job finished successfully.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A committer for sinks that commit nothing (their writes are visible at once).
#[derive(Debug, Default)]
pub struct NoCommit;

impl SinkCommitter for NoCommit {
    fn commit(&mut self, _checkpoint_id: u64, _infos: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }
}

#[doc(hidden)]
pub struct SinkExport<T>(PhantomData<T>);

#[doc(hidden)]
pub struct WriterRes<T: Sink>(RefCell<T::Writer>);

#[doc(hidden)]
pub struct CommitterRes<T: Sink>(RefCell<T::Committer>);

mod sink_impl {
    use super::*;
    use crate::sink_world::exports::strait::connector::sink as k;

    impl<T: Sink> k::Guest for SinkExport<T> {
        type SinkWriter = WriterRes<T>;
        type SinkCommitter = CommitterRes<T>;

        fn describe() -> wit::PluginInfo {
            info::<T>(PluginKind::Sink)
        }
    }

    impl<T: Sink> k::GuestSinkWriter for WriterRes<T> {
        fn create(
            options: String,
            ctx: wit::TaskContext,
            tables: Vec<wit::TableSchema>,
            restored: Vec<Vec<u8>>,
        ) -> Result<k::SinkWriter, wit::PluginError> {
            let opts = super::options::<T>(&options)?;
            let w = T::writer(&opts, &ctx.into(), schemas(tables)?, restored)?;
            Ok(k::SinkWriter::new(WriterRes::<T>(RefCell::new(w))))
        }

        fn write(&self, input: wit::Batch) -> Result<(), wit::PluginError> {
            Ok(self.0.borrow_mut().write(batch_in(input)?)?)
        }

        fn prepare_commit(&self, checkpoint_id: u64) -> Result<Option<Vec<u8>>, wit::PluginError> {
            Ok(self.0.borrow_mut().prepare_commit(checkpoint_id)?)
        }

        fn snapshot_state(&self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>, wit::PluginError> {
            Ok(self.0.borrow_mut().snapshot_state(checkpoint_id)?)
        }

        fn abort_prepare(&self) -> Result<(), wit::PluginError> {
            Ok(self.0.borrow_mut().abort_prepare()?)
        }

        fn close(&self) -> Result<(), wit::PluginError> {
            Ok(self.0.borrow_mut().close()?)
        }
    }

    impl<T: Sink> k::GuestSinkCommitter for CommitterRes<T> {
        fn create(
            options: String,
            ctx: wit::TaskContext,
            tables: Vec<wit::TableSchema>,
        ) -> Result<k::SinkCommitter, wit::PluginError> {
            let opts = super::options::<T>(&options)?;
            let c = T::committer(&opts, &ctx.into(), schemas(tables)?)?;
            Ok(k::SinkCommitter::new(CommitterRes::<T>(RefCell::new(c))))
        }

        fn commit(
            &self,
            checkpoint_id: u64,
            infos: Vec<Vec<u8>>,
        ) -> Result<Vec<Vec<u8>>, wit::PluginError> {
            Ok(self.0.borrow_mut().commit(checkpoint_id, infos)?)
        }

        fn abort(&self, infos: Vec<Vec<u8>>) -> Result<(), wit::PluginError> {
            Ok(self.0.borrow_mut().abort(infos)?)
        }

        fn close(&self) -> Result<(), wit::PluginError> {
            Ok(self.0.borrow_mut().close()?)
        }
    }
}

/// Exports a [`Sink`] implementation as this component's sink.
#[macro_export]
macro_rules! export_sink {
    ($t:ty) => {
        // Only a wasm build exports anything: natively the plugin is an ordinary library
        // (for unit tests and native baselines).
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __StraitSinkExport = $crate::SinkExport<$t>;
            $crate::sink_world::export_sink_world!(__StraitSinkExport with_types_in $crate::sink_world);
            type __StraitGrantsExport = $crate::GrantsExport<$t>;
            $crate::grants_world::export_grants_world!(__StraitGrantsExport with_types_in $crate::grants_world);
        };
    };
}
