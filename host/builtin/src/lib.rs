//! The connectors that ship inside `st`: FakeSource, Console, Assert and Blackhole, built from
//! `plugins/` for wasm32-wasip2 by this crate's build script and embedded as component bytes.
//! Loading them is `st-runtime`'s job; this crate only carries the bytes.

/// One embedded plugin.
#[derive(Debug)]
pub struct Builtin {
    /// The name job configs use.
    pub name: &'static str,
    pub kind: st_core::PluginKind,
    /// The component's bytes.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The path of a test plugin from `plugins/testing/` (crate `st-test-NAME`), built with the
/// built-ins. Panics when the name is not one of them, so a typo fails the test that made it.
pub fn test_plugin(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(TEST_PLUGIN_DIR)
        .join(format!("st_test_{}.wasm", name.replace('-', "_")));
    assert!(
        path.exists(),
        "no test plugin named `{name}` at {}",
        path.display()
    );
    path
}
