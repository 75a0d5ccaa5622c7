//! The error that names a field of an input or a document.

use super::text::{cut_chars, shorten_numbers};

/// A field of the execution input that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// JSON path of the field, e.g. `strategy.steps[1].weight`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error naming `field`; long digit runs (`1e308` printed in full) are shortened and the
    /// message is cut at [`MAX_MESSAGE_CHARS`], so an echoed value never floods a log or a cause.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: cut_chars(&field.into(), MAX_MESSAGE_CHARS),
            message: cut_chars(&shorten_numbers(&message.into()), MAX_MESSAGE_CHARS),
        }
    }
}

/// Longest field name or message a [`FieldError`] carries, in characters.
pub const MAX_MESSAGE_CHARS: usize = 400;
