//! Config problems, each naming the file, line and option path, collected so a user fixes
//! all of them in one pass.

use std::fmt;

/// One problem in a job config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// Where in the job, e.g. `sink[0](Assert).rules.field_rules[2]`; empty for the file.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a job config.
#[derive(Debug, Clone, PartialEq, Default, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the job config:",
            if n == 1 { "" } else { "s" }
        )?;
        // In file and line order (a problem without a line first); stable otherwise.
        let mut sorted: Vec<&ConfigError> = self.0.iter().collect();
        sorted.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        for e in sorted {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}
