//! The API's one way to say no: [`ApiError`], a status and a message in English and
//! Dutch, answered as `{"error": "..."}`. Handlers return `Result<_, ApiError>` and use
//! `?`; the [`localize`] layer gives the message in the request's language.
//!
//! **Invariant:** a message says what was wrong with the request and what would be
//! right; it never carries internals (no stack, no SQL, no file paths beyond what the
//! operator configured).

use crate::app::AppState;
use crate::lang;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use continuo_core::alerting::AlertError;
use continuo_core::{Lang, Text, tr};
use continuo_engine::alerts::AlertingError;
use serde_json::json;

/// A refused or failed request: what the client is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    message: Text,
}

impl ApiError {
    /// An answer with `status` saying `message`.
    pub fn new(status: StatusCode, message: Text) -> ApiError {
        ApiError { status, message }
    }

    /// 400: the request itself is malformed (unreadable body, bad query).
    pub fn bad_request(message: Text) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(message: Text) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: known, but not allowed.
    pub fn forbidden(message: Text) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: Text) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the thing is not in a state that allows it.
    pub fn conflict(message: Text) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 422: well-formed, but not a valid value.
    pub fn unprocessable(message: Text) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 503: what the request needs does not run here, or cannot answer now.
    pub fn unavailable(message: Text) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 503: this node runs without a database.
    pub fn no_store() -> ApiError {
        ApiError::unavailable(tr!(
            "this node has no store",
            "deze node heeft geen database"
        ))
    }

    /// 503: the database did not answer a read. What it said goes to the log, not to
    /// the client: it can name tables, hosts and queries.
    pub fn store_unreadable(e: impl std::fmt::Display) -> ApiError {
        tracing::warn!(error = %e, "a store read failed");
        ApiError::unavailable(tr!(
            "the database cannot be read now; try again shortly",
            "de database is nu niet leesbaar; probeer het zo opnieuw"
        ))
    }

    /// 503: alerting (and with it incidents and subscribers) does not run on this node.
    pub fn alerting_off() -> ApiError {
        ApiError::unavailable(tr!(
            "alerting is not running on this node",
            "alarmering draait niet op deze node"
        ))
    }

    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> &str {
        self.message.get(lang)
    }

    /// The answer in `lang`, for a caller that knows the language already.
    pub fn response(&self, lang: Lang) -> Response {
        let mut response = (
            self.status,
            axum::Json(json!({ "error": self.message(lang) })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"continuo\""),
            );
        }
        response
    }
}

/// Left on an answer built by [`IntoResponse`], so [`localize`] can say it again in the
/// request's language.
#[derive(Clone)]
struct Unlocalized(ApiError);

impl IntoResponse for ApiError {
    /// The answer in English, marked for [`localize`].
    fn into_response(self) -> Response {
        let mut response = self.response(Lang::En);
        response.extensions_mut().insert(Unlocalized(self));
        response
    }
}

/// The language a request asks for itself (`?lang=`, else Accept-Language), for
/// [`localize`]; `None` leaves it to the organisation.
pub(crate) fn requested_lang(request: &Request) -> Option<Lang> {
    let explicit = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    explicit
        .as_deref()
        .and_then(Lang::from_code)
        .or_else(|| lang::accepted(request.headers()))
}

/// After every route: an [`ApiError`] answer is said in the request's language (`chosen`
/// from [`requested_lang`], else the organisation's first language).
pub(crate) fn localize(mut response: Response, chosen: Option<Lang>, state: &AppState) -> Response {
    let Some(Unlocalized(e)) = response.extensions_mut().remove::<Unlocalized>() else {
        return response;
    };
    let lang = chosen.unwrap_or_else(|| lang::organisation(&state.engine.catalog()));
    if lang == Lang::En {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = json!({ "error": e.message(lang) }).to_string();
    Response::from_parts(parts, Body::from(body))
}

impl From<AlertingError> for ApiError {
    fn from(e: AlertingError) -> ApiError {
        let english = e.to_string();
        match &e {
            AlertingError::Alert(AlertError::Unknown(id)) => {
                ApiError::not_found(Text::new(english, format!("geen alarm met id `{id}`")))
            }
            AlertingError::Alert(AlertError::Resolved(id)) => {
                ApiError::conflict(Text::new(english, format!("alarm `{id}` is al opgelost")))
            }
            AlertingError::UnknownIncident(id) => {
                ApiError::not_found(Text::new(english, format!("geen incident met id `{id}`")))
            }
            // The incident book's rules speak English only for now.
            AlertingError::Invalid(_) => ApiError::unprocessable(Text::same(english)),
            AlertingError::Store(e) => ApiError::store_unreadable(e),
            AlertingError::NotSaved => ApiError::unavailable(Text::new(
                english,
                "uitgevoerd, maar nog niet opgeslagen: de database is niet bereikbaar; het \
                 wordt opgeslagen zodra de database antwoordt",
            )),
            AlertingError::Unreadable(what) => {
                tracing::error!(record = %what, "a stored record cannot be read");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    tr!(
                        "a stored record cannot be read; the server's log says which",
                        "een opgeslagen gegeven is niet leesbaar; het logboek van de server zegt welk"
                    ),
                )
            }
            AlertingError::Stopped => {
                ApiError::unavailable(Text::new(english, "alarmering draait niet"))
            }
        }
    }
}

impl From<continuo_core::maintenance::WindowError> for ApiError {
    fn from(e: continuo_core::maintenance::WindowError) -> ApiError {
        ApiError::unprocessable(e.text())
    }
}

/// What every refusal and bad request carries (in the OpenAPI document).
// Only the OpenAPI document reads this and the two enums below; `ApiError` writes the
// same shape.
#[allow(dead_code)]
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What was wrong, and what would be right, in the request's language.
    error: String,
}

/// The refusals of a route on a whole collection (in the OpenAPI document).
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub(crate) enum Refusals {
    /// The request is malformed.
    #[response(status = 400, description = "Bad input, with what would be right")]
    BadInput(ErrorBody),
    /// No or bad credentials.
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
    /// Not allowed.
    #[response(
        status = 403,
        description = "Role too low, or a forged browser request"
    )]
    Forbidden(ErrorBody),
    /// Well-formed, but not a valid value.
    #[response(status = 422, description = "A value that is not valid, with why")]
    Invalid(ErrorBody),
    /// What the route needs does not run here.
    #[response(
        status = 503,
        description = "Alerting or the store does not run on this node, or cannot answer now"
    )]
    Unavailable(ErrorBody),
}

/// The further refusals of a route about one thing named in its path (listed after
/// [`Refusals`]): 404 when there is no such thing, 409 when it is not in a state that
/// allows the request.
#[allow(dead_code)]
#[derive(utoipa::IntoResponses)]
pub(crate) enum RefusalsAbout {
    /// No such thing.
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorBody),
    /// Not in a state that allows it.
    #[response(status = 409, description = "Not in a state that allows this")]
    Conflict(ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;
    use continuo_store::StoreError;

    /// Regression: a store failure was answered as `database: <the store's own error>`,
    /// which can name hosts, users and queries.
    #[test]
    fn a_store_failure_is_answered_without_the_store_s_words() {
        let e = AlertingError::Store(StoreError::UnsupportedUrl(
            "postgres://admin:hunter2@db.internal/prod".into(),
        ));
        let answer = ApiError::from(e);
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        for lang in [Lang::En, Lang::Nl] {
            let message = answer.message(lang);
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("db.internal"), "{message}");
        }
        assert!(answer.message(Lang::Nl).contains("database"));
    }

    #[test]
    fn unsaved_and_unreadable_say_what_happened_in_both_languages() {
        let unsaved = ApiError::from(AlertingError::NotSaved);
        assert_eq!(unsaved.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(unsaved.message(Lang::En).contains("not saved yet"));
        assert!(unsaved.message(Lang::Nl).contains("nog niet opgeslagen"));
        let unreadable = ApiError::from(AlertingError::Unreadable("incident INC-7: eof".into()));
        assert_eq!(unreadable.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!unreadable.message(Lang::En).contains("INC-7"));
        assert!(unreadable.message(Lang::Nl).contains("logboek"));
    }
}
