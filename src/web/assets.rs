//! GOV.UK Frontend's built CSS and JS (`assets/govuk/`, with its licence)
//! and postroom's own few lines, built into the binary and served from
//! memory: no CDN, nothing fetched from another host.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "govuk-frontend.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/govuk/govuk-frontend.min.css"),
    ),
    (
        "govuk-frontend.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/govuk/govuk-frontend.min.js"),
    ),
    (
        "postroom.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/postroom.css"),
    ),
    (
        "postroom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/postroom.js"),
    ),
];

pub(super) async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => {
            let mut response = bytes.into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            // The files change only with postroom; a day in the cache.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            response
        }
        None => (StatusCode::NOT_FOUND, "Not found\n").into_response(),
    }
}
