//! `st-node`: one member of a Strait cluster (SeaTunnel's `seatunnel-cluster.sh`).
//!
//! `STRAIT_HOME` (like `SEATUNNEL_HOME`; the current directory when unset) holds `conf/`
//! (`st.yaml` or `seatunnel.yaml`, and `hazelcast.yaml`), `data/` (the Raft log and snapshots)
//! and `logs/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use st_cluster::map::Role;
use st_cluster::node::{ClusterNode, NodeOptions};
use std::sync::Arc;

mod jobs;
mod rest;

#[derive(Debug, Parser)]
#[command(name = "st-node", version, about = "A member of a Strait cluster")]
struct Args {
    /// The engine config (default: st.yaml or seatunnel.yaml in $STRAIT_HOME/conf).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// hybrid (default; SeaTunnel's master_and_worker), master or worker.
    #[arg(long, short = 'r', value_name = "ROLE", default_value = "hybrid", value_parser = parse_role)]
    role: Role,
    /// Run in the background, logging to $STRAIT_HOME/logs/strait-node.log.
    #[arg(short = 'd', long)]
    daemon: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    match s {
        "hybrid" | "master_and_worker" => Ok(Role::Hybrid),
        "master" => Ok(Role::Master),
        "worker" => Ok(Role::Worker),
        other => Err(format!(
            "`{other}` is not a role; use hybrid (or master_and_worker), master or worker"
        )),
    }
}

fn home() -> PathBuf {
    std::env::var_os("STRAIT_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let home = home();
    if args.daemon {
        return daemonize(&home);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ST_LOG")
                .unwrap_or_else(|_| "info,openraft=off".into()),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, &home)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args, home: &Path) -> Result<(), String> {
    let conf_dir = match &args.config {
        Some(f) => f
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => home.join("conf"),
    };
    let explicit = args.config.clone();
    let engine = if explicit.is_none() && std::env::var_os("ST_CONFIG").is_none() {
        // Only $STRAIT_HOME/conf, not ./conf: a node's config is its home's.
        ["st.yaml", "seatunnel.yaml"]
            .iter()
            .map(|f| conf_dir.join(f))
            .find(|p| p.is_file())
            .map_or_else(
                || Ok(st_conf::EngineConfig::default()),
                |p| st_conf::EngineConfig::load(&p),
            )
    } else {
        st_conf::EngineConfig::discover(explicit.as_deref())
    }
    .map_err(|e| e.to_string())?;
    let role_file = match args.role {
        Role::Master => Some("master"),
        Role::Worker => Some("worker"),
        Role::Hybrid => None,
    };
    let mut network = engine.network.clone();
    if let Some(f) = st_conf::NetworkConfig::file_for(&conf_dir, role_file) {
        network = network.load_over(&f).map_err(|e| e.to_string())?;
    }
    for n in engine.notices.iter().chain(&network.notices) {
        tracing::info!("notice: {n}");
    }
    tracing::info!(
        "st-node {} starting as {} (config: {}; network: {})",
        env!("CARGO_PKG_VERSION"),
        args.role,
        engine.source,
        network.source
    );
    let secret = engine
        .security
        .secret()
        .map_err(|e| format!("{}: {e}", engine.source))?;
    let http = rest::settings(&engine.http, secret.clone())
        .map_err(|e| format!("{}: {e}", engine.source))?;
    st_proto::auth::set_secret(secret.as_deref());
    if secret.is_some() {
        tracing::info!("a closed cluster: every node and client must present the cluster secret");
    }
    let history_minutes = engine.history_job_expire_minutes;
    let wait_for_slots = engine.job_schedule_strategy == st_conf::ScheduleStrategy::Wait;
    let slots = match engine.slot_service.dynamic_slot {
        Some(false) => Some(engine.slot_service.slot_num.unwrap_or(2)),
        _ => None,
    };
    // A node runs other people's jobs: unless its config says otherwise, their grants may
    // name only its data directory.
    let mut engine = engine;
    if !engine.sandbox.allowed_dirs_set {
        let data = home.join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        let data = data.canonicalize().unwrap_or(data);
        tracing::info!(
            "sandbox.allowed-dirs is not set: jobs may grant their plugins {} only (set seatunnel.engine.sandbox.allowed-dirs in st.yaml to allow more)",
            data.display()
        );
        engine.sandbox.allowed_dirs = vec![data];
    }
    let builtins = st_builtin::BUILTINS
        .iter()
        .map(|b| (b.name, b.kind, b.wasm));
    let engine = st_engine::Engine::from_config(&engine, &network.cluster_name, builtins)
        .map_err(|e| e.to_string())?;
    if network.members.len() > 1
        && let Some(dir) = engine.local_checkpoint_dir()
    {
        tracing::warn!(
            "checkpoints go to a local directory ({}) in a cluster of {} members: every node must see the same directory (a shared filesystem), or set checkpoint.storage to S3; otherwise a job cannot resume on another node",
            dir.display(),
            network.members.len()
        );
    }
    let map_store: Option<Arc<dyn st_cluster::jobs::MapStore>> = match &network.map_store {
        Some(props) => {
            let store = jobs::ObjectMapStore::open(props, &network.cluster_name)
                .map_err(|e| format!("{}: {e}", network.source))?;
            tracing::info!(
                "map store: the master keeps the map's jobs at {}",
                st_cluster::jobs::MapStore::location(&store)
            );
            Some(Arc::new(store))
        }
        None => None,
    };
    let plugins = engine.runtime().clone();
    let node = ClusterNode::start(NodeOptions {
        network,
        role: args.role,
        data_dir: home.join("data"),
        slots,
        jobs: Some(Arc::new(jobs::EngineHost::new(engine))),
        wait_for_slots,
        map_store,
        history_expire: std::time::Duration::from_secs(history_minutes.saturating_mul(60)),
    })
    .await?;
    let server = if http.enabled {
        let api = rest::api(node.service().clone(), Some(home.join("logs")), plugins);
        let server = st_rest::serve(api, &http).await?;
        tracing::info!("REST API on http://{}{}", server.address, http.context_path);
        Some(server)
    } else {
        None
    };
    wait_for_signal().await;
    tracing::info!("leaving the cluster");
    if let Some(s) = server {
        s.stop().await;
    }
    node.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Starts this program again in the background (its own process group, output into
/// `logs/strait-node.log`) and returns once it runs.
fn daemonize(home: &Path) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    let logs = home.join("logs");
    let log_path = logs.join("strait-node.log");
    let open = std::fs::create_dir_all(&logs).and_then(|_| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
    });
    let log = match open {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", log_path.display());
            return ExitCode::FAILURE;
        }
    };
    let err = match log.try_clone() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "-d" && a != "--daemon")
        .collect();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find this program: {e}");
            return ExitCode::FAILURE;
        }
    };
    match std::process::Command::new(exe)
        .args(args)
        .env("STRAIT_HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
    {
        Ok(child) => {
            println!(
                "st-node started in the background (pid {}); logs in {}",
                child.id(),
                log_path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot start st-node: {e}");
            ExitCode::FAILURE
        }
    }
}
