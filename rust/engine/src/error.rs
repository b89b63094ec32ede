//! Typed engine errors and the admin-facing messages built from them.
//!
//! Every message is written here, once, so every host shows the same text. Messages name the
//! user, the cause and what to do; they never contain a token or secret.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// What went wrong, in the terms the PowerShell side maps to an ErrorCategory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput,
    InvalidEndpoint,
    Unauthorized,
    /// Signing in failed (Entra ID, a managed identity endpoint or the Azure CLI refused).
    SignInFailed,
    PermissionDenied,
    UserNotFound,
    Throttled,
    Transient,
    GraphError,
    Cancelled,
    /// Another run holds the journal's lock.
    JournalInUse,
    /// A run that requires coverage left the user alone: their migration verdict is not `Covered`.
    NotCovered,
    Internal,
}

impl ErrorKind {
    /// Stable identifier, `ErrorId` on the PowerShell side (prefixed `PerUserMfa.`).
    pub fn error_id(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::InvalidEndpoint => "InvalidEndpoint",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::SignInFailed => "SignInFailed",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::UserNotFound => "UserNotFound",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Transient => "Transient",
            ErrorKind::GraphError => "GraphError",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::JournalInUse => "JournalInUse",
            ErrorKind::NotCovered => "NotCovered",
            ErrorKind::Internal => "Internal",
        }
    }

    /// Name of the PowerShell `ErrorCategory` member.
    pub fn category(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput | ErrorKind::InvalidEndpoint => "InvalidArgument",
            ErrorKind::Unauthorized | ErrorKind::SignInFailed => "AuthenticationError",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::UserNotFound => "ObjectNotFound",
            ErrorKind::Throttled => "LimitsExceeded",
            ErrorKind::Transient => "ConnectionError",
            ErrorKind::GraphError => "InvalidResult",
            ErrorKind::Cancelled => "OperationStopped",
            ErrorKind::JournalInUse => "ResourceBusy",
            ErrorKind::NotCovered => "SecurityError",
            ErrorKind::Internal => "NotSpecified",
        }
    }
}

/// The longest input text a message repeats whole; longer text is cut (a 10 MB -UserId must
/// not come back as a 10 MB error message).
pub const SHOWN_CHARS: usize = 256;

/// `text` as a message shows it: whole up to [`SHOWN_CHARS`] characters, else its start and its length.
pub fn shown(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}... ({} characters)", &text[..end], text.chars().count())),
    }
}

/// What the engine was doing when Graph answered; it decides which permission a 403 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListUsers,
    ReadUser,
    ReadState,
    ChangeState,
}

impl Operation {
    fn describe(self, target: &str) -> String {
        let target = shown(target);
        match self {
            Operation::ListUsers => "list the tenant's users".to_string(),
            Operation::ReadUser => format!("read user '{target}'"),
            Operation::ReadState => format!("read the per-user MFA state of '{target}'"),
            Operation::ChangeState => format!("change the per-user MFA state of '{target}'"),
        }
    }

    fn permission_advice(self) -> &'static str {
        match self {
            Operation::ListUsers | Operation::ReadUser => {
                "Reading users needs the Microsoft Graph permission User.Read.All (or Directory.Read.All). \
                 To consent for a delegated sign-in: Connect-MgGraph -Scopes User.Read.All; for an app \
                 registration or managed identity: add the application permission User.Read.All and grant \
                 admin consent (Entra admin center > App registrations > API permissions)."
            }
            Operation::ReadState => {
                "Reading per-user MFA state needs the Microsoft Graph permission Policy.Read.All (older guidance \
                 and many scripts use Policy.ReadWrite.AuthenticationMethod, which also works). A delegated \
                 sign-in also needs a directory role such as Global Reader. To consent for a delegated sign-in: \
                 Connect-MgGraph -Scopes Policy.Read.All; for an app registration or managed identity: add the \
                 application permission Policy.Read.All and grant admin consent (Entra admin center > App \
                 registrations > API permissions)."
            }
            Operation::ChangeState => {
                "Changing per-user MFA state needs the Microsoft Graph permission \
                 Policy.ReadWrite.AuthenticationMethod. A delegated sign-in also needs a directory role such as \
                 Authentication Policy Administrator. To consent for a delegated sign-in: Connect-MgGraph -Scopes \
                 Policy.ReadWrite.AuthenticationMethod; for an app registration or managed identity: add the \
                 application permission Policy.ReadWrite.AuthenticationMethod and grant admin consent (Entra admin \
                 center > App registrations > API permissions)."
            }
        }
    }
}

/// An error the engine reports, with the details Graph support asks for.
#[derive(Debug, Clone)]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
    pub status: Option<u16>,
    pub graph_code: Option<String>,
    pub request_id: Option<String>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> EngineError {
        EngineError { kind, message: message.into(), status: None, graph_code: None, request_id: None }
    }

    pub fn invalid_input(message: impl Into<String>) -> EngineError {
        EngineError::new(ErrorKind::InvalidInput, message)
    }

    pub fn internal(message: impl Into<String>) -> EngineError {
        EngineError::new(ErrorKind::Internal, message)
    }

    pub fn cancelled() -> EngineError {
        EngineError::new(ErrorKind::Cancelled, "The operation was stopped.")
    }

    /// A panic caught at the FFI boundary. The payload text is kept: it is the engine's own
    /// assertion text, not request data.
    pub fn from_panic(payload: Box<dyn Any + Send>) -> EngineError {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        EngineError::internal(format!(
            "The PerUserMfa engine hit an internal error ({detail}). Please report it with the command you ran."
        ))
    }

    /// Turns a Graph error answer into an admin-facing error for `target`.
    pub fn from_graph(
        status: u16,
        graph_code: Option<String>,
        graph_message: Option<String>,
        request_id: Option<String>,
        operation: Operation,
        target: &str,
    ) -> EngineError {
        let code = graph_code.clone().unwrap_or_else(|| status_reason(status).to_string());
        let what = operation.describe(target);
        let target = shown(target);
        let graph_says = graph_message.filter(|m| !m.is_empty()).map(|m| format!(": {m}")).unwrap_or_default();
        let (kind, text) = match status {
            401 => (
                ErrorKind::Unauthorized,
                format!(
                    "Graph rejected the access token when trying to {what} (401 {code}{graph_says}). \
                     The token may have expired or be meant for another resource: get a new token for \
                     https://graph.microsoft.com and run Connect-PerUserMfa again."
                ),
            ),
            403 => (
                ErrorKind::PermissionDenied,
                format!("Graph refused to {what} (403 {code}). {}", operation.permission_advice()),
            ),
            404 => (
                ErrorKind::UserNotFound,
                format!(
                    "User '{target}' does not exist in this tenant (404 {code}). \
                     Check the object id or user principal name."
                ),
            ),
            429 => (
                ErrorKind::Throttled,
                format!(
                    "Graph kept throttling the request to {what} (429 {code}) after every retry. \
                     Run the command again later, or lower -ThrottleLimit."
                ),
            ),
            500..=599 => (
                ErrorKind::Transient,
                format!("Graph could not {what} ({status} {code}{graph_says}) after every retry. Run the command again later."),
            ),
            400 if operation == Operation::ChangeState || operation == Operation::ReadState => (
                ErrorKind::InvalidInput,
                format!("Graph refused to {what} (400 {code}{graph_says})."),
            ),
            _ => (ErrorKind::GraphError, format!("Graph could not {what} ({status} {code}{graph_says}).")),
        };
        let message = match &request_id {
            Some(id) => format!("{text} request-id: {id}"),
            None => text,
        };
        EngineError { kind, message, status: Some(status), graph_code: Some(code), request_id }
    }

    /// The error as one event line (docs/ARCHITECTURE.md §1): `type` is `error` for one user,
    /// `fatal` for the whole job.
    pub fn to_event(&self, event_type: &'static str, target: &str) -> ErrorEvent {
        ErrorEvent {
            r#type: event_type,
            target: target.to_string(),
            error_id: self.kind.error_id(),
            category: self.kind.category(),
            message: self.message.clone(),
            status: self.status,
            graph_code: self.graph_code.clone(),
            request_id: self.request_id.clone(),
        }
    }

    pub fn to_event_json(&self, target: &str) -> String {
        serde_json::to_string(&self.to_event("fatal", target)).unwrap_or_else(|_| {
            "{\"type\":\"fatal\",\"errorId\":\"Internal\",\"category\":\"NotSpecified\",\"message\":\"error\"}".into()
        })
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEvent {
    pub r#type: &'static str,
    pub target: String,
    pub error_id: &'static str,
    pub category: &'static str,
    pub message: String,
    pub status: Option<u16>,
    pub graph_code: Option<String>,
    pub request_id: Option<String>,
}

fn status_reason(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(status: u16, op: Operation) -> EngineError {
        EngineError::from_graph(
            status,
            Some("accessDenied".into()),
            Some("Request Authorization failed".into()),
            Some("rid-1".into()),
            op,
            "adele@contoso.com",
        )
    }

    #[test]
    fn forbidden_read_names_least_privileged_permission_and_consent() {
        let e = graph(403, Operation::ReadState);
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(e.message.contains("Policy.Read.All"));
        assert!(e.message.contains("Policy.ReadWrite.AuthenticationMethod"));
        assert!(e.message.contains("Connect-MgGraph -Scopes"));
        assert!(e.message.contains("adele@contoso.com"));
        assert!(e.message.ends_with("request-id: rid-1"));
    }

    #[test]
    fn forbidden_change_names_write_permission_and_role() {
        let e = graph(403, Operation::ChangeState);
        assert!(e.message.contains("Policy.ReadWrite.AuthenticationMethod"));
        assert!(e.message.contains("Authentication Policy Administrator"));
        assert!(!e.message.contains("Policy.Read.All"));
    }

    #[test]
    fn not_found_says_the_user_does_not_exist() {
        let e = graph(404, Operation::ReadUser);
        assert_eq!(e.kind, ErrorKind::UserNotFound);
        assert_eq!(e.kind.category(), "ObjectNotFound");
        assert!(e.message.contains("does not exist"));
    }

    #[test]
    fn long_input_is_cut_in_messages() {
        let huge = "x".repeat(10 * 1024 * 1024);
        let e = EngineError::from_graph(404, None, None, None, Operation::ReadUser, &huge);
        assert!(e.message.len() < 1024, "{} bytes", e.message.len());
        assert!(e.message.contains("(10485760 characters)"));
        let e = EngineError::from_graph(403, None, None, None, Operation::ReadState, &huge);
        assert!(e.message.len() < 2048);
        assert_eq!(shown("adele@contoso.com"), "adele@contoso.com");
        let accented = "é".repeat(SHOWN_CHARS + 1);
        assert!(shown(&accented).starts_with(&"é".repeat(SHOWN_CHARS)));
    }

    #[test]
    fn event_json_has_contract_fields() {
        let json = graph(404, Operation::ReadUser).to_event_json("x");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["type"], "fatal");
        assert_eq!(v["errorId"], "UserNotFound");
        assert_eq!(v["requestId"], "rid-1");
        assert_eq!(v["status"], 404);
    }
}
