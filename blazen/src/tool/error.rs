//! Errors of tool calls, worded to be shown to the model that made the call.

use std::fmt;

/// Why a tool call failed.
///
/// The `Display` text is written for the model that asked for the call: send it back as the
/// tool result so the model can correct its arguments or give up gracefully.
///
/// ```
/// use blazen::ToolError;
///
/// let err = ToolError::new("no such city: Atlantis");
/// assert_eq!(err.to_string(), "no such city: Atlantis");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments do not match the tool's parameters (each problem names its argument).
    #[error("invalid arguments: {}", join(.problems))]
    InvalidArguments {
        /// Every problem found, in parameter order.
        problems: Vec<ArgumentError>,
    },
    /// The tool ran and reported an error.
    #[error("{message}")]
    Failed {
        /// The error's `Display` text.
        message: String,
    },
    /// The tool panicked; the panic was caught.
    #[error("the tool failed unexpectedly (it panicked: {message})")]
    Panicked {
        /// The panic payload, when it was a string.
        message: String,
    },
    /// The tool's result could not be turned into JSON.
    #[error("the tool's result could not be converted to JSON: {message}")]
    Output {
        /// The serializer's error.
        message: String,
    },
}

impl ToolError {
    /// A failure reported by a tool, with the text the model should see.
    ///
    /// ```
    /// # use blazen::ToolError;
    /// let err = ToolError::new("the service is down, try again later");
    /// assert!(matches!(err, ToolError::Failed { .. }));
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        ToolError::Failed {
            message: message.into(),
        }
    }

    /// The arguments named by an [`ToolError::InvalidArguments`] error (empty otherwise).
    ///
    /// ```
    /// # use blazen::{ArgumentError, ToolError};
    /// let err = ToolError::InvalidArguments { problems: vec![ArgumentError::missing("city")] };
    /// assert_eq!(err.arguments(), vec!["city"]);
    /// ```
    pub fn arguments(&self) -> Vec<&str> {
        match self {
            ToolError::InvalidArguments { problems } => {
                problems.iter().map(|p| p.argument.as_str()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the model sent arguments that do not fit the parameters.
    ///
    /// ```
    /// # use blazen::ToolError;
    /// assert!(!ToolError::new("boom").is_invalid_arguments());
    /// ```
    pub fn is_invalid_arguments(&self) -> bool {
        matches!(self, ToolError::InvalidArguments { .. })
    }
}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::new(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

fn join(problems: &[ArgumentError]) -> String {
    let parts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// One problem with one argument of a tool call.
///
/// ```
/// # use blazen::ArgumentError;
/// let p = ArgumentError::missing("city");
/// assert_eq!(p.to_string(), "missing required argument `city`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArgumentError {
    /// The argument's name (empty when the problem is the arguments as a whole).
    pub argument: String,
    /// What is wrong with it.
    pub kind: ArgumentErrorKind,
    /// Details: the expected names, or the decoder's message.
    pub detail: String,
}

/// The kinds of [`ArgumentError`].
///
/// ```
/// # use blazen::{ArgumentError, ArgumentErrorKind};
/// assert_eq!(ArgumentError::unknown("colour", &["city"]).kind, ArgumentErrorKind::Unknown);
/// assert_eq!(
///     ArgumentError::unknown("colour", &["city"]).to_string(),
///     "unknown argument `colour` (expected one of `city`)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgumentErrorKind {
    /// A required argument is absent.
    Missing,
    /// An argument the tool does not have.
    Unknown,
    /// A value of the wrong type or shape.
    Invalid,
    /// The arguments are not a JSON object.
    NotAnObject,
}

impl ArgumentError {
    /// A required argument is absent.
    pub fn missing(argument: impl Into<String>) -> Self {
        ArgumentError {
            argument: argument.into(),
            kind: ArgumentErrorKind::Missing,
            detail: String::new(),
        }
    }

    /// An argument the tool does not have; `expected` lists the parameters it has.
    pub fn unknown(argument: impl Into<String>, expected: &[&str]) -> Self {
        let detail = if expected.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            let names: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
            format!("expected one of {}", names.join(", "))
        };
        ArgumentError {
            argument: argument.into(),
            kind: ArgumentErrorKind::Unknown,
            detail,
        }
    }

    /// A value that does not decode; `detail` is the decoder's message.
    pub fn invalid(argument: impl Into<String>, detail: impl Into<String>) -> Self {
        ArgumentError {
            argument: argument.into(),
            kind: ArgumentErrorKind::Invalid,
            detail: detail.into(),
        }
    }

    /// The arguments are not a JSON object; `found` names what they are.
    pub fn not_an_object(found: impl Into<String>) -> Self {
        ArgumentError {
            argument: String::new(),
            kind: ArgumentErrorKind::NotAnObject,
            detail: found.into(),
        }
    }
}

impl fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ArgumentErrorKind::Missing => {
                write!(f, "missing required argument `{}`", self.argument)
            }
            ArgumentErrorKind::Unknown => {
                write!(f, "unknown argument `{}` ({})", self.argument, self.detail)
            }
            ArgumentErrorKind::Invalid if self.argument.is_empty() => f.write_str(&self.detail),
            ArgumentErrorKind::Invalid => {
                write!(
                    f,
                    "invalid value for argument `{}`: {}",
                    self.argument, self.detail
                )
            }
            ArgumentErrorKind::NotAnObject => write!(
                f,
                "the arguments must be a JSON object of named arguments, found {}",
                self.detail
            ),
        }
    }
}
