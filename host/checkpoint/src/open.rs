//! Opening the store st.yaml's `checkpoint.storage` names, with SeaTunnel's keys:
//!
//! ```yaml
//! checkpoint:
//!   storage:
//!     type: localfile            # or hdfs with fs.defaultFS file:///, or s3
//!     plugin-config:
//!       namespace: /var/lib/strait/checkpoints
//!       # for S3 (storage.type: s3): s3.bucket, fs.s3a.endpoint, fs.s3a.access.key,
//!       # fs.s3a.secret.key, fs.s3a.endpoint.region
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;

/// The store, the path prefix under it (`namespace/cluster`), and for a local store its root
/// directory (object stores leave empty directories behind; the engine tidies them).
#[derive(Debug, Clone)]
pub struct Opened {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: String,
    pub local_root: Option<PathBuf>,
}

/// The default namespace of a local store: `$XDG_DATA_HOME/strait/checkpoints`, else
/// `~/.local/share/strait/checkpoints`.
fn default_local() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })
        .unwrap_or_else(std::env::temp_dir)
        .join("strait")
        .join("checkpoints")
}

/// Why a checkpoint store cannot be opened: a setting that names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OpenError(pub String);

/// Opens the checkpoint store; `cluster` separates clusters sharing one store (`local` for
/// `st run`).
pub fn open(
    storage_type: &str,
    config: &BTreeMap<String, String>,
    cluster: &str,
) -> Result<Opened, OpenError> {
    open_store(storage_type, config, cluster).map_err(OpenError)
}

fn open_store(
    storage_type: &str,
    config: &BTreeMap<String, String>,
    cluster: &str,
) -> Result<Opened, String> {
    let get = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let kind = get("storage.type")
        .unwrap_or(storage_type)
        .to_ascii_lowercase();
    match kind.as_str() {
        "localfile" | "hdfs" | "local" => {
            if let Some(fs) = get("fs.defaultFS")
                && !fs.starts_with("file:")
            {
                return Err(format!(
                    "checkpoint.storage: fs.defaultFS `{fs}` is not supported; use a local path (file:///) or storage.type: s3"
                ));
            }
            let dir = get("namespace").map_or_else(default_local, PathBuf::from);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("checkpoint.storage: cannot create {}: {e}", dir.display()))?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                .map_err(|e| format!("checkpoint.storage: cannot open {}: {e}", dir.display()))?;
            Ok(Opened {
                store: Arc::new(fs),
                prefix: cluster.to_string(),
                local_root: Some(dir),
            })
        }
        "s3" | "s3a" => {
            let bucket = get("s3.bucket").ok_or("checkpoint.storage: s3 needs `s3.bucket`")?;
            let bucket = bucket
                .trim_start_matches("s3a://")
                .trim_start_matches("s3://")
                .trim_end_matches('/');
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(endpoint) = get("fs.s3a.endpoint") {
                b = b
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_virtual_hosted_style_request(false);
            }
            if let Some(k) = get("fs.s3a.access.key") {
                b = b.with_access_key_id(k);
            }
            if let Some(k) = get("fs.s3a.secret.key") {
                b = b.with_secret_access_key(k);
            }
            b = b.with_region(get("fs.s3a.endpoint.region").unwrap_or("us-east-1"));
            let store = b.build().map_err(|e| {
                format!("checkpoint.storage: cannot open S3 bucket `{bucket}`: {e}")
            })?;
            let namespace = get("namespace")
                .unwrap_or("strait/checkpoints")
                .trim_matches('/');
            Ok(Opened {
                store: Arc::new(store),
                prefix: format!("{namespace}/{cluster}"),
                local_root: None,
            })
        }
        other => Err(format!(
            "checkpoint.storage: type `{other}` is not supported (localfile, hdfs with a file:/// fs.defaultFS, s3)"
        )),
    }
}
