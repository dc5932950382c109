//! Files written through WASI's `descriptor.write` (a positioned write the host performs on the
//! calling thread) rather than through an output stream, whose writes the host hands to a
//! thread pool one at a time: the difference is a thread switch per buffer written. Off wasm
//! (the plugin's native unit tests) it is `std::fs::File`.

/// A file being written from its start.
pub struct OutFile {
    #[cfg(target_arch = "wasm32")]
    fd: wasip2::filesystem::types::Descriptor,
    #[cfg(target_arch = "wasm32")]
    pos: u64,
    #[cfg(not(target_arch = "wasm32"))]
    file: std::fs::File,
}

#[cfg(target_arch = "wasm32")]
fn error(code: wasip2::filesystem::types::ErrorCode) -> std::io::Error {
    use wasip2::filesystem::types::ErrorCode as E;
    let kind = match code {
        E::NoEntry => std::io::ErrorKind::NotFound,
        E::Access | E::NotPermitted | E::ReadOnly => std::io::ErrorKind::PermissionDenied,
        E::Exist => std::io::ErrorKind::AlreadyExists,
        E::InsufficientSpace => std::io::ErrorKind::StorageFull,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, code.message())
}

impl OutFile {
    /// Creates (or truncates) `path`, which must lie in a granted directory.
    #[cfg(target_arch = "wasm32")]
    pub fn create(path: &str) -> std::io::Result<OutFile> {
        use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
        // The granted directory that holds `path` (the deepest, when grants nest).
        let dirs = wasip2::filesystem::preopens::get_directories();
        let (dir, rel) = dirs
            .iter()
            .filter_map(|(d, root)| {
                let rel = if root == "/" {
                    path.strip_prefix('/')
                } else {
                    path.strip_prefix(root.trim_end_matches('/'))?
                        .strip_prefix('/')
                }?;
                Some((d, root.len(), rel))
            })
            .max_by_key(|(_, depth, _)| *depth)
            .map(|(d, _, rel)| (d, rel))
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "not in a granted directory",
                )
            })?;
        let fd = dir
            .open_at(
                PathFlags::empty(),
                rel,
                OpenFlags::CREATE | OpenFlags::TRUNCATE,
                DescriptorFlags::WRITE,
            )
            .map_err(error)?;
        Ok(OutFile { fd, pos: 0 })
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn create(path: &str) -> std::io::Result<OutFile> {
        Ok(OutFile {
            file: std::fs::File::create(path)?,
        })
    }

    /// Waits until the file's data is on disk.
    pub fn sync_data(&self) -> std::io::Result<()> {
        #[cfg(target_arch = "wasm32")]
        return self.fd.sync_data().map_err(error);
        #[cfg(not(target_arch = "wasm32"))]
        return self.file.sync_data();
    }
}

impl std::io::Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        #[cfg(target_arch = "wasm32")]
        {
            let n = self.fd.write(buf, self.pos).map_err(error)?;
            self.pos += n;
            Ok(n as usize)
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
