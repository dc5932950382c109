//! `st`: Strait's command line. `st run job.conf` runs a job in local mode (an embedded engine
//! in this process, exit when the job ends); `st check` validates a job; `st plugin list` and
//! `st plugin inspect` describe plugins; `st submit`, `list`, `status`, `cancel` and `nodes`
//! drive a running cluster (`st-node`).
//!
//! Exit codes: 0 success, 1 the job failed, 2 the job config or the command line is wrong.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use st_engine::{Engine, JobError, JobId};
use st_runtime::{PluginSource, Runtime, RuntimeConfig};

mod report;
mod watch;

/// `println!` for this binary: when stdout is a pipe that closed (`st plugin list | head`), the
/// process ends quietly instead of panicking on the failed write.
macro_rules! println {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

mod cluster;

#[derive(Debug, Parser)]
#[command(
    name = "st",
    version,
    about = "Strait: data synchronization with WebAssembly connectors"
)]
struct Cli {
    /// The engine config (default: $ST_CONFIG, $STRAIT_HOME/conf/st.yaml, ./conf/st.yaml).
    #[arg(long = "st-config", value_name = "FILE", global = true)]
    st_config: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

/// A job file and its variables, as `st run`, `st check` and `st submit` take them.
#[derive(Debug, clap::Args)]
struct JobFile {
    /// The job config (HOCON or JSON), as SeaTunnel writes it.
    #[arg(value_name = "JOB", required_unless_present = "config")]
    job: Option<PathBuf>,
    /// The job config (SeaTunnel's `-c`); same as the positional JOB.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "JOB",
        conflicts_with = "job"
    )]
    config: Option<PathBuf>,
    /// Fill `${key}` in the job config; repeatable (SeaTunnel's `-i`).
    #[arg(short = 'i', long = "variable", value_name = "KEY=VALUE")]
    variables: Vec<String>,
}

impl JobFile {
    fn path(&self) -> PathBuf {
        self.job
            .clone()
            .or_else(|| self.config.clone())
            .unwrap_or_default()
    }

    fn vars(&self) -> anyhow::Result<HashMap<String, String>> {
        self.variables
            .iter()
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                    .with_context(|| format!("`-i {kv}` is not KEY=VALUE"))
            })
            .collect()
    }
}

#[derive(Debug, clap::Args)]
struct JobArgs {
    #[command(flatten)]
    file: JobFile,
    /// Continue job JOB_ID from its latest savepoint or checkpoint (SeaTunnel's `-r`).
    #[arg(short = 'r', long = "resume", value_name = "JOB_ID")]
    resume: Option<JobId>,
    /// Run the job under this id (a positive decimal number) instead of a new one, as
    /// SeaTunnel's `--set-job-id`.
    #[arg(long = "set-job-id", value_name = "JOB_ID", conflicts_with = "resume")]
    set_job_id: Option<JobId>,
    /// SeaTunnel's `-m`: `local` (the default) runs here; `cluster` submits to a cluster
    /// (`st submit`).
    #[arg(short = 'm', long = "master", value_name = "MODE", value_parser = ["local", "cluster"])]
    master: Option<String>,
}

#[derive(Debug, clap::Args)]
struct SubmitArgs {
    #[command(flatten)]
    file: JobFile,
    /// The job's name (SeaTunnel's `-n`; default `env.job.name`).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    name: Option<String>,
    /// Run the job under this id instead of a new one.
    #[arg(long = "set-job-id", value_name = "JOB_ID")]
    set_job_id: Option<JobId>,
    /// Return once the cluster has accepted the job, printing its id.
    #[arg(long = "async")]
    asynchronous: bool,
    #[command(flatten)]
    target: cluster::Target,
}

#[derive(Debug, clap::Args)]
struct ResumeArgs {
    #[arg(value_name = "JOB_ID")]
    job_id: JobId,
    #[command(flatten)]
    file: JobFile,
    /// Return once the cluster has accepted the job.
    #[arg(long = "async")]
    asynchronous: bool,
    #[command(flatten)]
    target: cluster::Target,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Treat an option a plugin does not declare as an error, not a warning.
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a job in this process and exit when it ends.
    Run(JobArgs),
    /// Check a job config and its plugins' options without running it.
    Check(CheckArgs),
    /// List and describe plugins.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Submit a job to a cluster and follow it to its end (`--async`: return at once).
    Submit(SubmitArgs),
    /// List the cluster's jobs, newest first (SeaTunnel's `-l`).
    List {
        #[command(flatten)]
        target: cluster::Target,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One job's state, pipelines and error as one line of JSON (SeaTunnel's `-j`).
    Status {
        #[arg(value_name = "JOB_ID")]
        job_id: JobId,
        #[command(flatten)]
        target: cluster::Target,
    },
    /// Cancel jobs on the cluster (SeaTunnel's `-can`).
    Cancel {
        #[arg(value_name = "JOB_ID", required = true)]
        job_ids: Vec<JobId>,
        #[command(flatten)]
        target: cluster::Target,
    },
    /// A job's metrics as JSON (SeaTunnel's `--metrics`): rows, bytes and rows/s read and
    /// written, in total and per table.
    Metrics {
        #[arg(value_name = "JOB_ID")]
        job_id: JobId,
        #[command(flatten)]
        target: cluster::Target,
    },
    /// Stop jobs on the cluster at a savepoint, to resume later (SeaTunnel's `-s`).
    Savepoint {
        #[arg(value_name = "JOB_ID", required = true)]
        job_ids: Vec<JobId>,
        #[command(flatten)]
        target: cluster::Target,
    },
    /// Run a job on the cluster again from its latest savepoint or checkpoint (SeaTunnel's
    /// `-r ID -c JOB.conf`); fresh when it has none.
    Resume(ResumeArgs),
    /// List the cluster's nodes: address, role, alive, master, slots in use.
    Nodes {
        #[command(flatten)]
        target: cluster::Target,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCmd {
    /// List the available plugins.
    List,
    /// Show a plugin's kind, version, world, options, size, compile time and cache state
    /// (by name, `.wasm` path or URL). A name that is both a source and a sink (LocalFile)
    /// shows both, unless `--kind` picks one.
    Inspect {
        plugin: String,
        #[arg(long, value_parser = ["source", "transform", "sink"])]
        kind: Option<String>,
    },
}

/// Reads the engine config (exit 2 with file:line when it is wrong).
fn engine_config(st_config: Option<&std::path::Path>) -> anyhow::Result<st_conf::EngineConfig> {
    let conf = st_conf::EngineConfig::discover(st_config)?;
    for n in &conf.notices {
        eprintln!("notice: {n}");
    }
    Ok(conf)
}

/// The runtime with the built-ins registered.
fn start_runtime(conf: &st_conf::EngineConfig) -> anyhow::Result<Runtime> {
    let rt = Runtime::new(RuntimeConfig::from(conf))?;
    for b in st_builtin::BUILTINS {
        rt.register(b.name, b.kind, PluginSource::Builtin(b.wasm));
    }
    Ok(rt)
}

/// The runtime alone, for the commands that run no job (no checkpoint store is opened).
fn runtime(st_config: Option<&std::path::Path>) -> anyhow::Result<Arc<Runtime>> {
    Ok(Arc::new(start_runtime(&engine_config(st_config)?)?))
}

/// The engine, from the engine config.
fn engine(conf: &st_conf::EngineConfig) -> anyhow::Result<Engine> {
    let builtins = st_builtin::BUILTINS
        .iter()
        .map(|b| (b.name, b.kind, b.wasm));
    Ok(Engine::from_config(conf, "local", builtins)?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match tokio.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let conf = cli.st_config.as_deref();
    match cli.command {
        // SeaTunnel's `-m cluster`: the same as `st submit` (or `st resume` with `-r`).
        Cmd::Run(args) if args.master.as_deref() == Some("cluster") => {
            let (path, vars) = (args.file.path(), args.file.vars()?);
            let submit = cluster::Submit {
                path: &path,
                vars: &vars,
                job_id: args.resume.or(args.set_job_id).map(JobId::get),
                job_name: None,
                asynchronous: false,
                resume: args.resume.is_some(),
            };
            let target = cluster::Target {
                address: Vec::new(),
                cluster: None,
            };
            cluster::submit(&target, submit).await
        }
        Cmd::Run(args) => run_job(conf, &args, None).await,
        Cmd::Check(args) => run_job(conf, &args.job, Some(args.strict)).await,
        Cmd::Nodes { target, json } => cluster::nodes(&target, json).await,
        Cmd::Submit(a) => {
            let path = a.file.path();
            let vars = a.file.vars()?;
            let submit = cluster::Submit {
                path: &path,
                vars: &vars,
                job_id: a.set_job_id.map(JobId::get),
                job_name: a.name.as_deref(),
                asynchronous: a.asynchronous,
                resume: false,
            };
            cluster::submit(&a.target, submit).await
        }
        Cmd::Resume(a) => {
            let (path, vars) = (a.file.path(), a.file.vars()?);
            let submit = cluster::Submit {
                path: &path,
                vars: &vars,
                job_id: Some(a.job_id.get()),
                job_name: None,
                asynchronous: a.asynchronous,
                resume: true,
            };
            cluster::submit(&a.target, submit).await
        }
        Cmd::Savepoint { job_ids, target } => {
            let ids: Vec<u64> = job_ids.iter().map(|j| j.get()).collect();
            cluster::stop(&target, &ids, true).await
        }
        Cmd::List { target, json } => cluster::list(&target, json).await,
        Cmd::Status { job_id, target } => cluster::status(&target, job_id.get()).await,
        Cmd::Metrics { job_id, target } => cluster::metrics(&target, job_id.get()).await,
        Cmd::Cancel { job_ids, target } => {
            let ids: Vec<u64> = job_ids.iter().map(|j| j.get()).collect();
            cluster::stop(&target, &ids, false).await
        }
        Cmd::Plugin(PluginCmd::List) => {
            let rt = runtime(conf)?;
            println!("{:<16} {:<10} {:<8} SOURCE", "NAME", "KIND", "VERSION");
            for b in st_builtin::BUILTINS {
                let p = rt
                    .load_ref(st_runtime::PluginRef {
                        name: b.name,
                        kind: Some(b.kind),
                        ..Default::default()
                    })
                    .await?
                    .plugin;
                println!(
                    "{:<16} {:<10} {:<8} builtin",
                    p.info.name,
                    p.info.kind.as_str(),
                    p.info.version
                );
            }
            for (name, path) in rt.dir_plugins() {
                match rt.load(&path.display().to_string()).await {
                    Ok(p) => println!(
                        "{:<16} {:<10} {:<8} {}",
                        name,
                        p.info.kind.as_str(),
                        p.info.version,
                        path.display()
                    ),
                    Err(e) => println!(
                        "{name:<16} {:<10} {:<8} {}: {e}",
                        "broken",
                        "-",
                        path.display()
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Plugin(PluginCmd::Inspect { plugin, kind }) => {
            let rt = runtime(conf)?;
            // The kinds to show: the one asked for, else each kind a built-in of that name has.
            let mut kinds: Vec<Option<st_core::PluginKind>> = match kind.as_deref() {
                Some("source") => vec![Some(st_core::PluginKind::Source)],
                Some("transform") => vec![Some(st_core::PluginKind::Transform)],
                Some("sink") => vec![Some(st_core::PluginKind::Sink)],
                _ => st_builtin::BUILTINS
                    .iter()
                    .filter(|b| b.name.eq_ignore_ascii_case(&plugin))
                    .map(|b| Some(b.kind))
                    .collect(),
            };
            if kinds.is_empty() {
                kinds.push(None);
            }
            for (i, kind) in kinds.into_iter().enumerate() {
                if i > 0 {
                    println!();
                }
                inspect(&rt, &plugin, kind).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints what `st plugin inspect` shows of one plugin.
async fn inspect(
    rt: &st_runtime::Runtime,
    plugin: &str,
    kind: Option<st_core::PluginKind>,
) -> anyhow::Result<()> {
    let loaded = rt
        .load_ref(st_runtime::PluginRef {
            name: plugin,
            kind,
            ..Default::default()
        })
        .await?;
    let p = &loaded.plugin;
    println!("name:     {}", p.info.name);
    println!("kind:     {}", p.info.kind);
    println!("version:  {}", p.info.version);
    println!("world:    strait:connector/{}-plugin@0.1.0", p.info.kind);
    println!("source:   {}", p.origin);
    println!("size:     {} bytes", p.size);
    println!("sha256:   {}", p.sha256);
    println!(
        "compiled: {:.1} ms ({})",
        p.compile_time.as_secs_f64() * 1000.0,
        loaded.from
    );
    let (_, on_disk) = rt.cache_state(&p.sha256);
    println!(
        "cache:    {}",
        match (loaded.from, on_disk) {
            (st_runtime::LoadedFrom::Compiled, true) => "compiled now, stored in the disk cache",
            (st_runtime::LoadedFrom::Compiled, false) => "compiled now, no disk cache",
            (_, true) => "loaded from the disk cache",
            (_, false) => "in memory",
        }
    );
    if !p.info.grants.is_empty() {
        let grants: Vec<String> = p
            .info
            .grants
            .iter()
            .map(|g| format!("{} ({})", g.option, g.access))
            .collect();
        println!("grants:   {}", grants.join(", "));
    }
    println!("options:");
    for o in &p.info.options {
        let req = if o.required {
            "required".to_string()
        } else {
            format!("default {}", o.default_value.as_deref().unwrap_or("-"))
        };
        println!("  {:<26} {:<8} {req}", o.name, o.option_type.as_str());
        println!("      {}", o.doc);
    }
    Ok(())
}

/// `st run` (`check: None`) or `st check` (`Some(strict)`).
async fn run_job(
    conf: Option<&std::path::Path>,
    args: &JobArgs,
    check: Option<bool>,
) -> anyhow::Result<ExitCode> {
    let check_only = check.is_some();
    let path = args.file.path();
    let vars = args.file.vars()?;
    let (job, problems) = match st_job::load_file_with_problems(&path, &vars) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let engine_conf = engine_config(conf)?;
    let mut engine = engine(&engine_conf)?;
    if check == Some(true) {
        engine = engine.with_unknown_options(st_job::UnknownOptions::Error);
    }
    if !problems.is_empty() {
        // The wiring is wrong, but every plugin's options are checked too, in this same run.
        let mut all = problems;
        all.extend(engine.option_problems(&job).await);
        eprint!("{}", st_job::ConfigErrors(all));
        return Ok(ExitCode::from(2));
    }
    let job_id = args
        .resume
        .or(args.set_job_id)
        .unwrap_or_else(JobId::generate);
    let prepared = match engine.prepare(&job, job_id).await {
        Ok(p) => p,
        Err(JobError::Invalid(errors)) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    for w in &prepared.plan.warnings {
        eprintln!("warning: {w}");
    }
    if check_only {
        println!(
            "{}: OK ({} plugins in {} pipeline{})",
            path.display(),
            prepared.plugins().len(),
            prepared.pipeline_count(),
            if prepared.pipeline_count() == 1 {
                ""
            } else {
                "s"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.resume.is_some() {
        eprintln!("Job {job_id} ({}) resumed", prepared.plan.job_name);
    } else {
        eprintln!("Job {job_id} ({}) started", prepared.plan.job_name);
    }
    // The first Ctrl-C (or SIGTERM) takes a savepoint and stops the job resumable; a second one,
    // or a savepoint that cannot complete, cancels it.
    let (savepoint, cancel) = (prepared.savepoint_token(), prepared.cancel_token());
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signals = 0;
            loop {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                    () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
                }
                signals += 1;
                interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
                if signals == 1 {
                    eprintln!(
                        "Interrupted: taking a savepoint of job {job_id} (interrupt again to cancel)"
                    );
                    savepoint.cancel();
                } else {
                    eprintln!("Interrupted again: cancelling job {job_id}");
                    cancel.cancel();
                }
            }
        });
    }
    let watcher = tokio::spawn(watch::run(
        watch::Watch {
            job_id: job_id.to_string(),
            retry_times: prepared.plan.retry_times,
            interval: std::time::Duration::from_secs(engine_conf.print_execution_info_interval),
            states: false,
        },
        prepared.events(),
    ));
    let result = if args.resume.is_some() {
        engine.resume(prepared).await
    } else {
        engine.run(prepared).await
    };
    // The watcher has seen the job end (its progress line is cleared) or stops now.
    if tokio::time::timeout(std::time::Duration::from_millis(200), watcher)
        .await
        .is_err()
    {
        tracing::debug!("the progress watcher did not stop");
    }
    match result {
        Ok(report) => {
            println!("{}", report::statistics(&report));
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ JobError::AlreadyFinished { .. }) => {
            eprintln!("{e}");
            Ok(ExitCode::SUCCESS)
        }
        Err(JobError::Savepointed { job_id, report }) => {
            println!("{}", report::statistics(&report));
            eprintln!(
                "Job {job_id} stopped at a savepoint; resume it with: st run --resume {job_id} {}",
                path.display()
            );
            Ok(ExitCode::from(130))
        }
        Err(e) => {
            eprintln!("error: {e}");
            if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(ExitCode::from(130));
            }
            Ok(ExitCode::from(1))
        }
    }
}
