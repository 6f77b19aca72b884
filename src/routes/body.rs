//! Reading request bodies. [`Json`] and [`OptionalJson`] replace actix's `web::Json` so every
//! body is read the same careful way:
//! - within a size limit ([`BodyLimit`], 16 KiB unless a route sets more) and a time limit
//!   (`LOKET_BODY_TIMEOUT_SECS`): a client trickling its body a byte at a time gets 408 and the
//!   connection is closed instead of holding a worker's socket for as long as it likes;
//! - JSON only (`Content-Type: application/json` or `…+json`), else 400;
//! - no NUL character in any string (`\u0000`): Postgres cannot store one, and it used to come
//!   back as a 500 with a backtrace in the log — now 400 `invalid_characters`;
//! - a value of the wrong type is named by its field and never echoed: `"nik": 3271…` (a number)
//!   answers 422 `{"fields": {"citizen.nik": "invalid_type"}}`, and neither the answer nor the
//!   log carries the number (serde's own message quotes the value).
//!
//! [`Csv`] is the same careful read for the one route that takes a file (a catalogue import):
//! `text/csv` (or what a spreadsheet's file picker calls it), its own size limit.
//!
//! [`OptionalJson`] is for endpoints whose body may be left out (an outcome without notes): no
//! body at all is `None`, but a body that is there must be readable — malformed JSON, text or a
//! form is refused instead of silently ignored.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldErrors};
use crate::state::AppState;

/// The largest body a route accepts, as `app_data` (default [`DEFAULT_LIMIT`]).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

pub const DEFAULT_LIMIT: usize = 16 * 1024;

/// How long a body may take to arrive when the settings are not at hand.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON body, required.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A JSON body that may be absent (no bytes at all); when present it must be readable.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T> OptionalJson<T> {
    pub fn into_inner(self) -> Option<T> {
        self.0
    }
}

/// A CSV file as the body, required, unparsed (the use-case reads it).
#[derive(Debug)]
pub struct Csv(pub web::Bytes);

/// What a route reads its body as: the content types it accepts.
#[derive(Clone, Copy)]
enum Kind {
    Json,
    Csv,
}

type BodyFuture<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let optional = OptionalJson::<T>::from_request(req, payload);
        Box::pin(async move {
            optional.await?.0.map(Json).ok_or_else(|| {
                ApiError::bad_request("malformed_json", "The body is empty; send a JSON object.")
            })
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read(req, payload, Kind::Json);
        Box::pin(async move {
            match read.await? {
                None => Ok(OptionalJson(None)),
                Some(bytes) => parse(&bytes).map(|v| OptionalJson(Some(v))),
            }
        })
    }
}

impl FromRequest for Csv {
    type Error = ApiError;
    type Future = BodyFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read(req, payload, Kind::Csv);
        Box::pin(async move {
            read.await?.map(Csv).ok_or_else(|| {
                ApiError::bad_request("empty_body", "The body is empty; send the CSV file.")
            })
        })
    }
}

fn too_large() -> ApiError {
    ApiError::bad_request("body_too_large", "The request body is too large.")
}

/// The content type without parameters, lower case ("" when there is none).
fn essence(req: &HttpRequest) -> String {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return String::new();
    };
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(req: &HttpRequest) -> bool {
    let essence = essence(req);
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `text/csv`, and what browsers on some systems label a `.csv` file with.
fn is_csv(req: &HttpRequest) -> bool {
    matches!(
        essence(req).as_str(),
        "text/csv" | "text/plain" | "application/vnd.ms-excel"
    )
}

/// The whole body (`None` when there is none), within the route's size limit and the time
/// limit. Checks what it can before reading a byte: the declared length and the content type.
fn read(
    req: &HttpRequest,
    payload: &mut Payload,
    kind: Kind,
) -> impl Future<Output = Result<Option<web::Bytes>, ApiError>> + 'static {
    let limit = req.app_data::<BodyLimit>().map_or(DEFAULT_LIMIT, |l| l.0);
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_TIMEOUT, |s| {
            Duration::from_secs(s.settings.body_timeout_secs)
        });
    let declared: Option<u64> = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    let accepted = match kind {
        Kind::Json => is_json(req),
        Kind::Csv => is_csv(req),
    };
    let mut payload = payload.take();
    async move {
        let has_body = declared.is_some_and(|n| n > 0) || (declared.is_none() && chunked);
        if !has_body {
            return Ok(None);
        }
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        if !accepted {
            return Err(ApiError::bad_request(
                "unsupported_content_type",
                match kind {
                    Kind::Json => "Send JSON with Content-Type: application/json.",
                    Kind::Csv => "Send the file with Content-Type: text/csv.",
                },
            ));
        }
        let collect = async {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    ApiError::bad_request("malformed_body", "The request body broke off.")
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        };
        match tokio::time::timeout(timeout, collect).await {
            Ok(Ok(bytes)) if bytes.is_empty() => Ok(None),
            Ok(Ok(bytes)) => Ok(Some(bytes)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ApiError::BodyTimeout),
        }
    }
}

/// Parses a JSON body into `T`; see the module doc for what is refused and how.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_nul(bytes) {
        return Err(ApiError::bad_request(
            "invalid_characters",
            "The body contains a NUL character (\\u0000), which is not accepted.",
        ));
    }
    // Every body Loket takes is an object; serde would also fill a struct from an array
    // (`["notes"]`), which no client means.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        let mut fields = FieldErrors::new();
        fields.insert("body".into(), "invalid_type".into());
        return Err(ApiError::validation(fields));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        refusal(&path, e.inner())
    })?;
    de.end().map_err(|e| refusal(".", &e))?;
    Ok(value)
}

/// A JSON error as the client hears it: syntax is 400 `malformed_json`; data that does not fit
/// is 422 with the field and a one-word problem, without the value that was sent.
fn refusal(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    if e.classify() != Category::Data {
        return ApiError::bad_request("malformed_json", "The body is not valid JSON.");
    }
    let message = e.to_string();
    let mut field = if path == "." || path.is_empty() {
        String::new()
    } else {
        path.to_string()
    };
    let problem = if let Some(rest) = message.strip_prefix("missing field `") {
        // The missing field's name is ours (from the type), not the client's.
        let name = rest.split('`').next().unwrap_or("");
        field = if field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        };
        "required"
    } else {
        problem_word(&message)
    };
    if field.is_empty() {
        field = "body".into();
    }
    let mut fields = FieldErrors::new();
    fields.insert(field, problem.into());
    ApiError::validation(fields)
}

/// serde's wording, reduced to a code that carries nothing the client sent.
fn problem_word(message: &str) -> &'static str {
    const WORDS: [(&str, &str); 6] = [
        ("invalid type", "invalid_type"),
        ("invalid value", "invalid_value"),
        ("invalid length", "invalid_length"),
        ("unknown variant", "unknown_value"),
        ("unknown field", "unknown_field"),
        ("duplicate field", "duplicate"),
    ];
    WORDS
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or("invalid", |(_, word)| word)
}

/// Whether JSON text holds a NUL: a raw zero byte, or `\u0000` inside a string (an escaped
/// backslash followed by `u0000` is not one). Exact for any input, valid JSON or not.
pub fn has_nul(bytes: &[u8]) -> bool {
    // A raw zero byte anywhere, even right after a backslash (the walk below skips escaped
    // characters; the property test found `"\<NUL>` slipping through that way).
    if bytes.contains(&0) {
        return true;
    }
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if bytes.get(i + 1) == Some(&b'u')
                    && bytes
                        .get(i + 2..i + 6)
                        .is_some_and(|hex| hex.iter().all(|b| *b == b'0'))
                {
                    return true;
                }
                // Skip the escaped character (a quote or a backslash among them).
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Citizen {
        name: Option<String>,
        nik: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Form {
        service: String,
        citizen: Option<Citizen>,
        answers: Option<Vec<i64>>,
    }

    fn fields(e: ApiError) -> FieldErrors {
        match e {
            ApiError::Validation { fields } => fields,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn nul_is_found_inside_strings_only_when_it_really_is_one() {
        assert!(has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(has_nul(br#"{"a\u0000":1}"#));
        assert!(has_nul(b"{\"a\":\"\0\"}"));
        assert!(has_nul(b"\"\\\0"), "a raw NUL right after a backslash");
        assert!(
            !has_nul(br#"{"a":"x\\u0000y"}"#),
            "an escaped backslash, then text"
        );
        assert!(has_nul(br#"{"a":"x\\\u0000"}"#), "a backslash, then a NUL");
        assert!(
            has_nul(br#"{"b":"\"\u00000"}"#),
            "an escaped quote, then a NUL"
        );
        assert!(!has_nul(br#"{"a":"\u00e9"}"#));
        assert!(
            !has_nul(br#"{"a":"\"u0000"}"#),
            "an escaped quote, then text"
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_without_the_value() {
        let e =
            parse::<Form>(br#"{"service":"x","citizen":{"nik":3271014506900077}}"#).unwrap_err();
        let text = format!("{e:?}");
        assert!(!text.contains("3271014506900077"), "{text}");
        assert_eq!(fields(e)["citizen.nik"], "invalid_type");
        let e = parse::<Form>(br#"{"service":"x","answers":[1,"secret"]}"#).unwrap_err();
        assert_eq!(fields(e)["answers[1]"], "invalid_type");
        let e = parse::<Form>(br#"{"citizen":{}}"#).unwrap_err();
        assert_eq!(fields(e)["service"], "required");
        let e = parse::<Form>(br#"[1,2]"#).unwrap_err();
        assert_eq!(fields(e)["body"], "invalid_type");
        let e = parse::<Form>(br#" ["pbg"]"#).unwrap_err();
        assert_eq!(
            fields(e)["body"],
            "invalid_type",
            "an array never fills a struct"
        );
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_malformed() {
        for bad in [&b"{"[..], b"{\"service\":\"x\"} tail", b"", b"nope"] {
            match parse::<Form>(bad) {
                Err(ApiError::BadRequest { code, .. }) => assert_eq!(code, "malformed_json"),
                other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
            }
        }
    }
}
