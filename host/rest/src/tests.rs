//! The router without a cluster: who may submit, and what an unknown path or method gets.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::api::*;
use crate::{Settings, router};

/// A cluster with no jobs that accepts every submit as job 7.
struct Empty;

impl ClusterApi for Empty {
    async fn cluster(&self) -> Result<ClusterView, ApiError> {
        Ok(ClusterView::default())
    }
    async fn jobs(&self) -> Result<Vec<JobView>, ApiError> {
        Ok(Vec::new())
    }
    async fn job(&self, _: u64) -> Result<Option<JobView>, ApiError> {
        Ok(None)
    }
    async fn throughput(&self, _: u64) -> Result<Option<Throughput>, ApiError> {
        Ok(None)
    }
    async fn submit(&self, job: SubmitJob) -> Result<Submitted, ApiError> {
        Ok(Submitted {
            job_id: 7,
            job_name: job.job_name.unwrap_or_else(|| "SeaTunnel_Job".into()),
        })
    }
    async fn stop(&self, _: u64, _: bool) -> Result<(), ApiError> {
        Ok(())
    }
    async fn set_tags(&self, _: BTreeMap<String, String>) -> Result<(), ApiError> {
        Ok(())
    }
    async fn restore(&self, id: u64) -> Result<Submitted, ApiError> {
        Ok(Submitted {
            job_id: id,
            job_name: "restored".into(),
        })
    }
    async fn option_rules(&self, plugin: &str) -> Result<Vec<PluginRules>, ApiError> {
        Err(ApiError::BadRequest(format!("no plugin {plugin}")))
    }
    fn this_node(&self) -> ThisNode {
        ThisNode {
            address: "127.0.0.1:5801".into(),
            log_dir: None,
        }
    }
}

async fn submit_from(peer: &str, settings: &Settings) -> (StatusCode, String) {
    let app = router(Arc::new(Empty), settings);
    let mut req = Request::post("/submit-job")
        .body(Body::from(r#"{"env":{"job.mode":"BATCH"}}"#))
        .unwrap();
    let addr: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn without_a_secret_only_loopback_may_submit_unless_anonymous_submit_is_allowed() {
    let open = Settings::default();
    let (status, _) = submit_from("127.0.0.1:40000", &open).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = submit_from("[::1]:40000", &open).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = submit_from("10.1.2.3:40000", &open).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("10.1.2.3") && body.contains("allow-anonymous-submit"),
        "{body}"
    );
    let anonymous = Settings {
        allow_anonymous_submit: true,
        ..Settings::default()
    };
    let (status, _) = submit_from("10.1.2.3:40000", &anonymous).await;
    assert_eq!(status, StatusCode::OK);
    // With a secret, the secret decides, wherever the client is.
    let closed = Settings {
        secret: Some("0123456789abcdef".into()),
        ..Settings::default()
    };
    let (status, _) = submit_from("127.0.0.1:40000", &closed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn post(path: &str, body: &str) -> (StatusCode, String) {
    let app = router(Arc::new(Empty), &Settings::default());
    let mut req = Request::post(path)
        .body(Body::from(body.to_string()))
        .unwrap();
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn encrypt_config_shades_the_credentials_of_sources_and_sinks_only() {
    let (status, body) = post(
        "/encrypt-config",
        r#"{"env":{"shade.identifier":"base64"},"source":[{"plugin_name":"Jdbc","username":"root","password":"seatunnel","url":"jdbc:x"}],"transform":[{"plugin_name":"Sql","password":"kept"}],"sink":[{"plugin_name":"Console","token":"t"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["source"][0]["username"], "cm9vdA==");
    assert_eq!(v["source"][0]["password"], "c2VhdHVubmVs");
    assert_eq!(v["source"][0]["url"], "jdbc:x");
    assert_eq!(v["transform"][0]["password"], "kept");
    assert_eq!(v["sink"][0]["token"], "dA==");
    let (status, body) = post("/encrypt-config", r#"{"env":{}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("shade.identifier"), "{body}");
}

/// Every path the OpenAPI document lists is routed (answers neither 404 nor 405).
#[tokio::test]
async fn the_openapi_document_lists_only_routed_endpoints() {
    let doc = crate::openapi::document();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 25, "{}", paths.len());
    for (path, methods) in paths {
        for method in methods.as_object().expect("methods").keys() {
            let uri = path
                .replace("{id}", "1")
                .replace("{state}", "FINISHED")
                .replace("{name}", "x.log")
                .replace("{plugin}", "FakeSource");
            let app = router(Arc::new(Empty), &Settings::default());
            let mut req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::from("{}"))
                .unwrap();
            let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
            let status = app.oneshot(req).await.unwrap().status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}: {status}"
            );
        }
    }
}
