use std::fmt;

/// A model configuration value that cannot build a model, with the field that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidConfig {
    /// The configuration field at fault, as spelled in the config (e.g. `hidden_size`).
    pub field: &'static str,
    /// What is wrong with it and what it must be.
    pub reason: String,
}

impl InvalidConfig {
    /// The value of `field` is wrong for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// Fails with `field` unless `value >= min`.
    pub fn at_least(field: &'static str, value: usize, min: usize) -> Result<(), Self> {
        if value >= min {
            Ok(())
        } else {
            Err(Self::new(
                field,
                format!("is {value}, must be at least {min}"),
            ))
        }
    }
}

impl fmt::Display for InvalidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidConfig {}
