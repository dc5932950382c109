//! The host's one `bindgen!` site over `wit/`. Each plugin world gets its typed bindings; the
//! shared `types` and `host` interfaces are generated once (in `source`) and reused by the
//! others through `with`. Also converts the generated batch and schema types to `st-core`'s.
//! Loading, instantiating and sandboxing live in `st-runtime`.

/// Bindings for the `source-plugin` world (and the shared `types` and `host` interfaces).
pub mod source {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "source-plugin",
        exports: { default: async },
    });
}

/// Bindings for the `transform-plugin` world.
pub mod transform {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "transform-plugin",
        exports: { default: async },
        with: {
            "strait:connector/types": crate::source::strait::connector::types,
            "strait:connector/host": crate::source::strait::connector::host,
        },
    });
}

/// Bindings for the `sink-plugin` world.
pub mod sink {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "sink-plugin",
        exports: { default: async },
        with: {
            "strait:connector/types": crate::source::strait::connector::types,
            "strait:connector/host": crate::source::strait::connector::host,
        },
    });
}

/// Bindings for the optional `grants` interface (the `grants-plugin` world).
pub mod grants {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "grants-plugin",
        exports: { default: async },
    });
}

pub use source::strait::connector::host;
pub use source::strait::connector::types;

/// The WIT package every world belongs to, with its version.
pub const PACKAGE: &str = "strait:connector@0.1.0";

/// Conversions between the generated types and `st-core`'s.
pub mod conv {
    st_core::wit_conversions!(crate::source::strait::connector::types);
}
