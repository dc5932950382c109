//! Fetching plugin artifacts named by a job: a path, or a URL any object_store backend reads
//! (`file://`, `http(s)://`, `s3://` with the usual `AWS_*` environment for credentials and
//! endpoint).

use object_store::ObjectStoreExt as _;

/// Whether `location` is a URL rather than a path.
pub(crate) fn is_url(location: &str) -> bool {
    location.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
    })
}

/// Reads the artifact's bytes.
pub(crate) async fn fetch(location: &str) -> Result<Vec<u8>, String> {
    if !is_url(location) {
        return std::fs::read(location).map_err(|e| format!("cannot read {location}: {e}"));
    }
    let url = url::Url::parse(location).map_err(|e| format!("`{location}` is not a URL: {e}"))?;
    // S3 settings come from the environment, as for every AWS tool.
    let options: Vec<(String, String)> = if url.scheme() == "s3" {
        std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect()
    } else if url.scheme() == "http" {
        // Plain HTTP is what the user wrote; the sha256 pin is how they protect it.
        vec![("allow_http".to_string(), "true".to_string())]
    } else {
        Vec::new()
    };
    let (store, path) = object_store::parse_url_opts(&url, options)
        .map_err(|e| format!("cannot open {location}: {e}"))?;
    let got = store
        .get(&path)
        .await
        .map_err(|e| format!("cannot fetch {location}: {e}"))?;
    let bytes = got
        .bytes()
        .await
        .map_err(|e| format!("cannot fetch {location}: {e}"))?;
    Ok(bytes.to_vec())
}
