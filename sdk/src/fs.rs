//! What the job grants this plugin on the file system, and file errors that say so.
//!
//! A plugin sees only the directories its job grants (the paths its declared options name, or
//! the job's `sandbox.dirs`). Opening anything else fails inside the guest with the same
//! "No such file or directory" as a missing file; [`io_error`] tells the two apart, so a user
//! reads "not granted" when the grant is what is missing.

use crate::Error;

/// A directory this plugin may reach, as the plugin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub path: String,
    pub writable: bool,
}

/// The directories this plugin instance is granted. Off wasm (a plugin's native unit tests)
/// everything is: `/`, writable.
pub fn granted_dirs() -> Vec<Granted> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasip2::filesystem::types::DescriptorFlags;
        wasip2::filesystem::preopens::get_directories()
            .into_iter()
            .map(|(d, path)| Granted {
                writable: d.get_flags().is_ok_and(|f| {
                    f.intersects(DescriptorFlags::MUTATE_DIRECTORY | DescriptorFlags::WRITE)
                }),
                path,
            })
            .collect()
    }
    #[cfg(not(target_arch = "wasm32"))]
    vec![Granted {
        path: "/".into(),
        writable: true,
    }]
}

/// The deepest granted directory that holds `path`, if one does.
pub fn grant_for(path: &str) -> Option<Granted> {
    let p = st_core::lexical_path(path);
    granted_dirs()
        .into_iter()
        .filter(|g| p.starts_with(st_core::lexical_path(&g.path)))
        .max_by_key(|g| g.path.len())
}

/// Why `path` cannot be reached for reading (or writing, when `write`), when the grants are
/// the reason; `None` when they allow it.
pub fn not_granted(path: &str, write: bool) -> Option<String> {
    let listed = || {
        let dirs: Vec<String> = granted_dirs().into_iter().map(|g| g.path).collect();
        if dirs.is_empty() {
            "it grants no directory".to_string()
        } else {
            format!("it grants {}", dirs.join(", "))
        }
    };
    match grant_for(path) {
        None => Some(format!(
            "`{path}` is not granted to this plugin by the job's sandbox ({})",
            listed()
        )),
        Some(g) if write && !g.writable => Some(format!(
            "`{path}` is granted read-only (in {}); the job's sandbox.dirs entry needs `writable = true`",
            g.path
        )),
        Some(_) => None,
    }
}

/// A plugin error for a failed file operation: `cannot {what} {path}: ...`. A path the job
/// does not grant, or grants read-only to a writer, is fatal and says so (no retry grants
/// it); a permission the host's file system refuses is fatal too; anything else, a missing
/// file included, is retriable.
pub fn io_error(what: &str, path: &str, write: bool, e: &std::io::Error) -> Error {
    if let Some(why) = not_granted(path, write) {
        return Error::fatal(format!("cannot {what} {path}: {why}"));
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            Error::fatal(format!("cannot {what} {path}: {e}"))
        }
        _ => Error::retriable(format!("cannot {what} {path}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natively_everything_is_granted() {
        assert_eq!(not_granted("/etc/hosts", true), None);
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert!(
            matches!(io_error("open", "/x", false, &e), Error::Retriable(m) if m == "cannot open /x: gone")
        );
    }
}
