//! The on-disk cache of precompiled components.
//!
//! An entry is `<sha256 of the component>-<engine compatibility hash>.cwasm`, written by
//! `Engine::precompile_component`, plus a `.sum` file holding the blake3 hash and length of the
//! artifact. Both are written to temporary files and renamed into place, the sum first, so a
//! reader sees a whole entry or none. Before an artifact is mapped, its sum is checked: a
//! truncated, corrupted or half-written file is removed and the component recompiled. A
//! different wasmtime or engine configuration has a different compatibility hash, so it never
//! even looks at another version's files (and wasmtime refuses them anyway).

use std::hash::{Hash as _, Hasher as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// What looking up the disk cache found.
pub(crate) enum Lookup {
    Hit(Component),
    Miss,
    /// An entry was there but unusable; it has been removed.
    Corrupt(String),
}

#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    compat: String,
}

impl DiskCache {
    /// Creates the directory (mode 0700: only the host may write what it later maps).
    pub(crate) fn open(dir: &Path, engine: &Engine) -> std::io::Result<DiskCache> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(DiskCache {
            dir: dir.to_path_buf(),
            compat: format!("{:016x}", h.finish()),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The artifact's path for a component hash.
    pub(crate) fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.compat))
    }

    fn sum_path(artifact: &Path) -> PathBuf {
        artifact.with_extension("sum")
    }

    /// Whether an entry exists (used by `st plugin inspect`).
    pub(crate) fn contains(&self, sha256: &str) -> bool {
        let p = self.path(sha256);
        p.is_file() && Self::sum_path(&p).is_file()
    }

    pub(crate) fn lookup(&self, engine: &Engine, sha256: &str) -> Lookup {
        let artifact = self.path(sha256);
        let sum_file = Self::sum_path(&artifact);
        if !artifact.exists() {
            return Lookup::Miss;
        }
        let verdict = (|| -> Result<Component, String> {
            let sum = std::fs::read_to_string(&sum_file)
                .map_err(|e| format!("its checksum file cannot be read: {e}"))?;
            let bytes = std::fs::read(&artifact).map_err(|e| format!("it cannot be read: {e}"))?;
            let want = sum.trim();
            let got = format!("{} {}", blake3::hash(&bytes).to_hex(), bytes.len());
            if want != got {
                return Err(format!(
                    "its checksum does not match (expected `{want}`, found `{got}`)"
                ));
            }
            drop(bytes);
            load_verified(engine, &artifact)
        })();
        match verdict {
            Ok(c) => Lookup::Hit(c),
            Err(why) => {
                let _ = std::fs::remove_file(&artifact);
                let _ = std::fs::remove_file(&sum_file);
                Lookup::Corrupt(format!("{}: {why}", artifact.display()))
            }
        }
    }

    /// Stores a precompiled artifact; failures only cost a recompile later.
    pub(crate) fn store(&self, sha256: &str, artifact: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha256);
        let sum = format!("{} {}\n", blake3::hash(artifact).to_hex(), artifact.len());
        write_atomically(&self.dir, &Self::sum_path(&path), sum.as_bytes())?;
        write_atomically(&self.dir, &path, artifact)
    }
}

fn write_atomically(dir: &Path, to: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(to).map_err(|e| e.error)?;
    Ok(())
}

/// Maps a checked artifact.
#[allow(unsafe_code)]
fn load_verified(engine: &Engine, artifact: &Path) -> Result<Component, String> {
    // SAFETY: `deserialize_file` trusts its input to be wasmtime's own output. The file lives in
    // the host's private cache directory, was written there by `DiskCache::store` from
    // `Engine::precompile_component`, and its blake3 checksum and length were verified just
    // before this call; wasmtime additionally checks its version and configuration header.
    unsafe { Component::deserialize_file(engine, artifact) }
        .map_err(|e| format!("wasmtime refuses it: {e:#}"))
}
