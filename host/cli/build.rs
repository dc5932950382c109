//! Generates one test per folder of `tests/cases/` (see `tests/all/cases.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../../tests/cases");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::new();
    for n in names {
        let ident: String = n
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        writeln!(code, "#[test]\nfn case_{ident}() {{ run_case({n:?}); }}")
            .expect("write to string");
    }
    std::fs::write(
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("cases.rs"),
        code,
    )
    .expect("write cases.rs");
}
