//! The runtime's errors: what a plugin reported, kept apart from a plugin that crashed.

use std::fmt;

/// An error a plugin returned through the contract.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginError {
    InvalidOption { option: String, message: String },
    Retriable(String),
    Fatal(String),
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginError::InvalidOption { option, message } => {
                write!(f, "option `{option}`: {message}")
            }
            PluginError::Retriable(m) => write!(f, "{m} (retriable)"),
            PluginError::Fatal(m) => f.write_str(m),
        }
    }
}

impl From<st_world::types::PluginError> for PluginError {
    fn from(e: st_world::types::PluginError) -> Self {
        match e {
            st_world::types::PluginError::InvalidOption(p) => PluginError::InvalidOption {
                option: p.option,
                message: p.message,
            },
            st_world::types::PluginError::Retriable(m) => PluginError::Retriable(m),
            st_world::types::PluginError::Fatal(m) => PluginError::Fatal(m),
        }
    }
}

/// Everything that can go wrong loading or running a plugin.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("unknown plugin `{name}`; known plugins: {known}")]
    UnknownPlugin { name: String, known: String },
    #[error("plugin {plugin} {message}")]
    Load { plugin: String, message: String },
    /// The plugin returned an error.
    #[error("{plugin} [{task}]: {error}")]
    Plugin {
        plugin: String,
        task: String,
        error: PluginError,
    },
    /// The plugin trapped, hit a limit or broke the contract; its instance is gone.
    #[error("{plugin} [{task}] crashed: {message}")]
    Trap {
        plugin: String,
        task: String,
        message: String,
    },
    /// The plugin produced data that does not fit its declared schema.
    #[error("{plugin} [{task}] broke the contract: {message}")]
    Contract {
        plugin: String,
        task: String,
        message: String,
    },
    /// The job was cancelled while the plugin ran (or before it was called).
    #[error("{plugin} [{task}] stopped: the job was cancelled")]
    Cancelled { plugin: String, task: String },
    #[error("host error: {0}")]
    Host(String),
}

impl RuntimeError {
    /// The plugin's reported error, if that is what this is.
    pub fn plugin_error(&self) -> Option<&PluginError> {
        match self {
            RuntimeError::Plugin { error, .. } => Some(error),
            _ => None,
        }
    }
}
