//! REST API V2 with SeaTunnel's paths, JSON and errors, served by every node on axum. It sees
//! the cluster only through [`ClusterApi`].

pub mod api;
mod auth;
mod openapi;
mod prometheus;
mod routes;
mod shapes;
mod system;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use api::{
    ApiError, CheckpointView, ClusterApi, ClusterView, JobView, NodeView, OptionRule, PluginRules,
    RaftView, SubmitJob, Submitted, ThisNode, Throughput, VertexKind, VertexView,
};

/// `seatunnel.engine.http` as the node resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `enable-http` (default true).
    pub enabled: bool,
    /// Where to listen (all interfaces, as SeaTunnel's Jetty does).
    pub host: IpAddr,
    /// `port` (default 8080).
    pub port: u16,
    /// `context-path` (default none): every path is under it.
    pub context_path: String,
    /// `enable-dynamic-port` (default true): take the next free port within `port-range`.
    pub dynamic_port: bool,
    /// `port-range` (default 100).
    pub port_range: u16,
    /// The cluster secret: with one, every request must present it.
    pub secret: Option<String>,
    /// `enable-basic-auth` with `basic-auth-username` and `basic-auth-password`.
    pub basic_auth: Option<(String, String)>,
    /// `allow-anonymous-submit`: let clients off loopback submit without credentials.
    pub allow_anonymous_submit: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            enabled: true,
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 8080,
            context_path: String::new(),
            dynamic_port: true,
            port_range: 100,
            secret: None,
            basic_auth: None,
            allow_anonymous_submit: false,
        }
    }
}

/// The context path, for handlers that write absolute links.
#[derive(Debug, Clone)]
pub(crate) struct ContextPath(pub String);

/// Every endpoint, under the context path.
pub fn router<A: ClusterApi>(api: Arc<A>, settings: &Settings) -> Router {
    let endpoints = Router::new()
        .route("/overview", get(routes::overview::<A>))
        .route("/running-jobs", get(routes::running_jobs::<A>))
        .route("/pending-jobs", get(routes::pending_jobs::<A>))
        .route("/job-info/{id}", get(routes::job_info::<A>))
        .route("/job-info", get(routes::job_info_without_id))
        .route("/job-info/", get(routes::job_info_without_id))
        .route("/running-job/{id}", get(routes::job_info::<A>))
        .route("/running-job", get(routes::job_info_without_id))
        .route("/running-job/", get(routes::job_info_without_id))
        .route("/finished-jobs", get(routes::finished_jobs::<A>))
        .route("/finished-jobs/", get(routes::finished_jobs::<A>))
        .route("/finished-jobs/{state}", get(routes::finished_jobs_in::<A>))
        .route("/submit-job", post(routes::submit_job::<A>))
        .route("/submit-job/upload", post(routes::submit_upload::<A>))
        .route("/submit-jobs", post(routes::submit_jobs::<A>))
        .route("/stop-job", post(routes::stop_job::<A>))
        .route("/stop-jobs", post(routes::stop_jobs::<A>))
        .route("/update-tags", post(routes::update_tags::<A>))
        .route("/restore-job", post(routes::restore_job::<A>))
        .route("/encrypt-config", post(routes::encrypt_config))
        .route("/jobs/{id}/checkpoints", get(routes::checkpoints::<A>))
        .route("/jobs/{id}/events", get(routes::events::<A>))
        .route("/ui", get(console))
        .route("/ui/", get(console))
        .route("/option-rules/{plugin}", get(routes::option_rules::<A>))
        .route(
            "/system-monitoring-information",
            get(system::monitoring::<A>),
        )
        .route("/thread-dump", get(system::thread_dump))
        .route("/metrics", get(prometheus::metrics::<A>))
        .route("/openapi.json", get(openapi::serve))
        .route("/logs", get(system::logs::<A>))
        .route("/logs/{name}", get(system::log_or_listing::<A>))
        .route("/log", get(system::local_logs::<A>))
        .route("/log/{name}", get(system::local_log::<A>))
        .method_not_allowed_fallback(routes::wrong_method)
        .with_state(api);
    let ctx = settings.context_path.trim_end_matches('/').to_string();
    let app = if ctx.is_empty() {
        endpoints
    } else {
        Router::new().nest(&ctx, endpoints)
    };
    app.fallback(routes::not_found)
        .layer(axum::Extension(ContextPath(ctx)))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth::Auth::new(settings)),
            auth::check,
        ))
}

/// The web console: one page, embedded, that uses only the endpoints above.
async fn console() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../ui/index.html"))
}

/// A REST server that runs until dropped or stopped.
pub struct Server {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting and waits for the requests in flight.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Binds `port` (or, with a dynamic port, the first free one of the range) and serves.
pub async fn serve<A: ClusterApi>(api: Arc<A>, settings: &Settings) -> Result<Server, String> {
    let tries = if settings.dynamic_port {
        settings.port_range.max(1)
    } else {
        1
    };
    let mut last = None;
    let mut listener = None;
    for i in 0..tries {
        let Some(port) = settings.port.checked_add(i) else {
            break;
        };
        match tokio::net::TcpListener::bind((settings.host, port)).await {
            Ok(l) => {
                listener = Some(l);
                break;
            }
            Err(e) => last = Some(format!("{}:{port}: {e}", settings.host)),
        }
    }
    let Some(listener) = listener else {
        let range = if tries > 1 {
            format!(
                " (ports {}-{} of http.port-range)",
                settings.port,
                settings.port.saturating_add(tries - 1)
            )
        } else {
            String::new()
        };
        return Err(format!(
            "the REST API cannot listen{range}: {}",
            last.unwrap_or_default()
        ));
    };
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = router(api, settings);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Without TCP_NODELAY a response written in two parts waits for the client's
        // delayed ACK (about 40 ms).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await;
        if let Err(e) = served {
            tracing::error!("the REST API stopped: {e}");
        }
    });
    Ok(Server {
        address,
        stop: Some(stop),
        task,
    })
}

#[cfg(test)]
mod tests;
