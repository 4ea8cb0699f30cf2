//! [`ConfigError`]: why a server configuration cannot be used, in one line.

use std::path::PathBuf;

use super::properties::SyntaxError;

/// Why a configuration cannot be used. Every variant displays as one line that names what to
/// fix, for `sluice server` to print before exiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The configuration file could not be read.
    File {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The configuration file is not valid properties syntax.
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: SyntaxError,
    },
    /// A `--override` argument is not `key=value`.
    Override(String),
    /// One key's value is not what the key takes.
    Value {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// What the key takes, as a phrase: "an integer from 1 to 2147483647".
        expected: String,
    },
    /// Values that are each valid but do not fit together.
    Conflict(String),
    /// A data directory cannot be created or written.
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
}

impl ConfigError {
    /// A [`ConfigError::Value`].
    pub fn value(key: &'static str, value: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            key,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::File { path, reason } => {
                write!(f, "cannot read config file {}: {reason}", path.display())
            }
            ConfigError::Syntax { path, error } => {
                write!(f, "config file {}: {error}", path.display())
            }
            ConfigError::Override(argument) => {
                write!(f, "--override {argument:?}: expected key=value")
            }
            // `{:?}` quotes the value and escapes any line break a `\n` escape put there, so the
            // message stays on one line.
            ConfigError::Value {
                key,
                value,
                expected,
            } => write!(f, "{key}: invalid value {value:?}: expected {expected}"),
            ConfigError::Conflict(message) => f.write_str(message),
            ConfigError::DataDir { path, reason } => {
                write!(f, "data directory {} is unusable: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for ConfigError {}
