//! Acceptance of an execution input: parsed ([`crate::domain::request`]), then budgeted
//! ([`check_history_budget`]). Every reader of an input goes through here.

use serde_json::Value;

use super::field::FieldError;
use super::json::InputDocument;
use super::limits::check_history_budget;
use super::request::DeploymentRequest;

impl DeploymentRequest {
    /// Accepts an execution input: every field valid (the error names the first bad one), then
    /// its worst case within the history budget.
    pub fn from_json(input: &Value) -> Result<DeploymentRequest, FieldError> {
        budgeted(DeploymentRequest::parse_json(input)?)
    }

    /// The same for an input read by [`InputDocument`] (a repeated key or too-deep nesting is
    /// reported first).
    pub fn from_document(input: &InputDocument) -> Result<DeploymentRequest, FieldError> {
        budgeted(DeploymentRequest::parse_document(input)?)
    }
}

fn budgeted(request: DeploymentRequest) -> Result<DeploymentRequest, FieldError> {
    check_history_budget(&request)?;
    Ok(request)
}
