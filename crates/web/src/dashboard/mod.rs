//! The operator dashboard at `/`: services and their health, checks with latency
//! sparklines, incidents (list, detail with crisis roles, recovery checklist, reporting
//! deadlines, action items and review notes, and the forms to act on them), who is on call,
//! maintenance windows, the notification outbox, and the proof: the posture matrix, each
//! service's evidence timeline and the monthly availability report. Server-rendered with askama
//! (`templates/dashboard/`), in English and Dutch, with one small script embedded in the
//! binary that reloads a section when `/events` (server-sent events) says it changed.
//!
//! **Invariant:** every page needs a signed-in user (an anonymous browser is sent to
//! `/login?next=...`), every form a responder (requeueing notifications an admin), and
//! every form carries the session's CSRF token: the forms go through the same [`Authed`]
//! checks as the JSON API, so a forged cross-site post is refused in one place.
//! **Invariant:** the pages load nothing from elsewhere: styles are inline, the script is
//! served from `/assets/dashboard.js`, and the Content-Security-Policy says so.

/// The identified user, or the refusal as a browser should see it (a sign-in redirect or
/// a page that says why), in the language of `?lang=`/the form's `lang` when given.
macro_rules! authed {
    ($who:expr, $state:expr, $headers:expr, $path:expr, $lang:expr) => {
        match $who {
            Ok(w) => w,
            Err(r) => {
                let lang =
                    $crate::dashboard::dashboard_lang($lang, &$headers, &$state.engine.catalog());
                return $crate::dashboard::refused(r, $path, lang);
            }
        }
    };
}

mod actions;
mod events;
mod pages;
mod posture;
pub mod sparkline;

pub(crate) use events::close_streams;

use crate::app::Shared;
use crate::auth::{Authed, MinRole};
use crate::error::ApiError;
use crate::lang;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use continuo_core::catalog::Catalog;
use continuo_core::{Lang, Text};

/// The cookie that keeps a language chosen with `?lang=`.
const LANG_COOKIE: &str = "continuo_lang";

/// The dashboard's routes.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/checks/{id}", get(pages::check))
        .route("/incidents", get(pages::incidents))
        .route("/incidents/{id}", get(pages::incident))
        .route("/incidents/{id}/ack", post(actions::acknowledge))
        .route("/incidents/{id}/update", post(actions::update))
        .route("/incidents/{id}/resolve", post(actions::resolve))
        .route("/incidents/{id}/note", post(actions::note))
        .route("/incidents/{id}/checklist", post(actions::tick))
        .route("/incidents/{id}/roles", post(actions::assign))
        .route("/incidents/{id}/reports", post(actions::submit))
        .route("/incidents/{id}/actions", post(actions::add_action))
        .route("/incidents/{id}/actions/done", post(actions::action_done))
        .route("/incidents/{id}/review", post(actions::review))
        .route("/maintenance", post(actions::create_window))
        .route("/maintenance/{id}/end", post(actions::end_window))
        .route("/outbox/requeue", post(actions::requeue))
        .route("/posture", get(posture::posture))
        .route("/posture/{subject}", get(posture::subject))
        .route("/reports/availability", get(posture::availability))
        .route("/events", get(events::events))
        .route("/assets/dashboard.js", get(events::script))
}

/// The language of a dashboard page: `?lang=`, else the cookie it left, else
/// Accept-Language, else the organisation's first language.
pub(crate) fn dashboard_lang(query: Option<&str>, headers: &HeaderMap, catalog: &Catalog) -> Lang {
    query
        .and_then(Lang::from_code)
        .or_else(|| crate::auth::cookie(headers, LANG_COOKIE).and_then(Lang::from_code))
        .or_else(|| lang::accepted(headers))
        .unwrap_or_else(|| lang::organisation(catalog))
}

/// What every page shows around its content: who is signed in, the language switch,
/// the navigation, and the form token.
pub(crate) struct Chrome {
    /// The page's language.
    pub lang: Lang,
    /// The organisation's name.
    pub organization: String,
    /// Who is signed in, with their role, in the page's language.
    pub who: String,
    /// The session's CSRF token, for every form.
    pub csrf: String,
    /// Which navigation entry is the current page.
    pub current: &'static str,
    /// The same page in the other language.
    pub switch_href: String,
    /// The other language's name, in that language.
    pub switch_label: &'static str,
    /// The other language's code.
    pub switch_code: &'static str,
    /// Whether the user may act (responder or admin).
    pub can_respond: bool,
    /// Whether the user is an admin.
    pub is_admin: bool,
}

impl Chrome {
    pub(crate) fn new<R: MinRole>(
        who: &Authed<R>,
        catalog: &Catalog,
        lang: Lang,
        current: &'static str,
        path: &str,
    ) -> Chrome {
        let other = if lang == Lang::Nl { Lang::En } else { Lang::Nl };
        let role = who.actor.role.label();
        let name = &who.actor.who;
        Chrome {
            lang,
            organization: catalog.organization.name.clone(),
            who: Text::new(
                format!("{name} ({})", role.en),
                format!("{name} ({})", role.nl),
            )
            .get(lang)
            .to_string(),
            csrf: who.csrf.clone().unwrap_or_default(),
            current,
            switch_href: format!("{path}?lang={}", other.code()),
            switch_label: match other {
                Lang::Nl => "Nederlands",
                Lang::En => "English",
            },
            switch_code: other.code(),
            can_respond: who.actor.role >= continuo_core::access::Role::Responder,
            is_admin: who.actor.role >= continuo_core::access::Role::Admin,
        }
    }

    /// The text in the page's language (templates write both next to each other).
    pub fn t<'a>(&self, en: &'a str, nl: &'a str) -> &'a str {
        match self.lang {
            Lang::En => en,
            Lang::Nl => nl,
        }
    }

    /// The page's language code.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// `aria-current` for a navigation entry.
    pub fn aria_current(&self, entry: &str) -> &'static str {
        if self.current == entry {
            "page"
        } else {
            "false"
        }
    }
}

/// A page as a response with the headers every dashboard page carries; with `?lang=`
/// the choice is kept in a cookie.
pub(crate) fn html(rendered: Result<String, askama::Error>, keep_lang: Option<Lang>) -> Response {
    let body = match rendered {
        Ok(b) => b,
        Err(e) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                Text::new(
                    format!("rendering the page: {e}"),
                    format!("de pagina kan niet worden gemaakt: {e}"),
                ),
            )
            .into_response();
        }
    };
    let mut response = Html(body).into_response();
    secure_headers(response.headers_mut());
    if let Some(lang) = keep_lang
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// Turns a refused [`Authed`] into what a browser should see: an anonymous visitor (401)
/// goes to the sign-in page and comes back here after; a refusal (role too low, a form
/// without this session's token) is a page that says why, in the user's language.
pub(crate) fn refused(rejection: ApiError, path_and_query: &str, lang: Lang) -> Response {
    let status = rejection.status();
    if status == StatusCode::UNAUTHORIZED {
        let next: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", path_and_query)
            .finish();
        return Redirect::to(&format!("/login?{next}")).into_response();
    }
    problem(lang, status, rejection.message(lang), "/")
}

/// A short page that says what went wrong and links back.
pub(crate) fn problem(lang: Lang, status: StatusCode, message: &str, back: &str) -> Response {
    let page = pages::Problem {
        lang: lang.code(),
        title: Text::new("Not done", "Niet uitgevoerd")
            .get(lang)
            .to_string(),
        message: message.to_string(),
        back: back.to_string(),
        back_label: Text::new("Back", "Terug").get(lang).to_string(),
    };
    let mut response = html(askama::Template::render(&page), None);
    *response.status_mut() = status;
    response
}
