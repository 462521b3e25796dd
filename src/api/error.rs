//! The one error type of the HTTP layer and its JSON envelope:
//! `{"error": {"code", "message", "details"}}`. Internal failures are logged with the request id
//! and answered with an opaque 500.

use serde_json::{json, Value};
use worker::Response;

use crate::domain::fields::FieldError;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON, or is empty where JSON is required.
    BadRequest(String),
    /// 401: no valid session or token.
    Unauthorized,
    /// 401 from login: the same answer for a wrong password and an unknown email.
    InvalidCredentials,
    /// 402: an LLM call that could overshoot the team's enforced budget.
    BudgetExceeded(String),
    /// 403: signed in, but the role is too low for this.
    Forbidden(String),
    /// 403: sign-up is closed on this deployment.
    SignupClosed,
    /// 404: missing, or another team's.
    NotFound,
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: a conflict or a wrong state, with its own code.
    Conflict { code: &'static str, message: String },
    /// 410: a used, revoked or expired invite.
    Gone(String),
    /// 413: the body exceeds the route's limit (bytes).
    PayloadTooLarge(usize),
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 415 from a route that takes other media types: what to send instead.
    UnsupportedMedia(&'static str),
    /// 422: valid JSON, invalid fields (or invalid query parameters).
    Validation(Vec<FieldError>),
    /// 429: too many attempts; retry after this many seconds.
    RateLimited { retry_after_s: i64 },
    /// 502: the LLM gateway's provider could not be reached or answered unreadably.
    BadGateway(String),
    /// 500: logged in full, answered opaquely.
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden_role(needed: crate::domain::role::Role) -> ApiError {
        ApiError::Forbidden(format!("This needs the {needed} role or higher."))
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized | ApiError::InvalidCredentials => 401,
            ApiError::BudgetExceeded(_) => 402,
            ApiError::Forbidden(_) | ApiError::SignupClosed => 403,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Conflict { .. } => 409,
            ApiError::Gone(_) => 410,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedMedia(_) => 415,
            ApiError::Validation(_) => 422,
            ApiError::RateLimited { .. } => 429,
            ApiError::Internal(_) => 500,
            ApiError::BadGateway(_) => 502,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::BudgetExceeded(_) => "budget_exceeded",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::SignupClosed => "signup_closed",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::Gone(_) => "invite_gone",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedMedia(_) => {
                "unsupported_media_type"
            }
            ApiError::Validation(_) => "validation_failed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
            ApiError::BadGateway(_) => "provider_unreachable",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::BudgetExceeded(m)
            | ApiError::BadGateway(m)
            | ApiError::Forbidden(m)
            | ApiError::Gone(m) => m.clone(),
            ApiError::Conflict { message, .. } => message.clone(),
            ApiError::Unauthorized => "Sign in, or send a valid access token.".into(),
            ApiError::InvalidCredentials => "Email or password is incorrect.".into(),
            ApiError::SignupClosed => {
                "Sign-up is closed on this deployment; ask for an invite.".into()
            }
            ApiError::NotFound => "Nothing here, or it belongs to another team.".into(),
            ApiError::MethodNotAllowed => "This path does not take that method.".into(),
            ApiError::PayloadTooLarge(limit) => {
                format!("The body is larger than this route's limit of {limit} bytes.")
            }
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::UnsupportedMedia(m) => (*m).into(),
            ApiError::Validation(_) => "Some fields are invalid; see details.".into(),
            ApiError::RateLimited { retry_after_s } => {
                format!("Too many attempts; try again in {retry_after_s} s.")
            }
            ApiError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }

    fn details(&self) -> Value {
        match self {
            ApiError::Validation(fields) => json!(fields),
            _ => Value::Null,
        }
    }

    /// The response for this error; internals go to the log under the request id, never out.
    pub fn into_response(self, request_id: &str) -> Response {
        if let ApiError::Internal(detail) = &self {
            worker::console_error!("{request_id} internal error: {detail}");
        }
        let body = json!({"error": {"code": self.code(), "message": self.message(), "details": self.details()}});
        let mut response = super::respond::json(self.status(), &body);
        if let ApiError::RateLimited { retry_after_s } = self {
            let _ = response
                .headers_mut()
                .set("retry-after", &retry_after_s.max(1).to_string());
        }
        response
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation(errors)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
