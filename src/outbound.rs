//! Every call Beacon makes to the outside — LLM providers, HTTP steps, key tests, the email API —
//! goes through [`send`]: redirects are followed by hand (at most 5), each hop's URL checked by
//! [`check_url`] exactly like the first, so a public URL cannot bounce the Worker onto a private
//! address; a hop to another origin drops every header but the content type (they can carry the
//! caller's secrets); and one time limit covers the whole exchange, body included. Bodies are read
//! with [`Reply::body`], which stops at a cap instead of holding whatever the other side sends.

use wasm_bindgen::JsValue;
use worker::{AbortSignal, Fetch, Headers, Method, Request, Response};

use crate::domain::upstream::{check_url, UrlParts};
use crate::platform::{read_capped, Capped};

const MAX_REDIRECTS: usize = 5;

/// One outbound request.
pub struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Headers,
    pub body: Option<String>,
    pub timeout_ms: u32,
    pub allow_private: bool,
}

/// Why a call produced no usable answer.
#[derive(Debug)]
pub enum Failure {
    /// The URL, or a redirect's, was refused by the outbound check (why, for a sentence).
    Blocked(&'static str),
    TooManyRedirects,
    Timeout,
    Network,
    /// The body was over the cap.
    TooLarge,
}

/// The final answer, its body still unread.
pub struct Reply {
    response: Response,
    signal: AbortSignal,
}

impl Reply {
    pub fn status(&self) -> u16 {
        self.response.status_code()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get(name).ok().flatten()
    }

    /// The body as it streams in, for a relay that caps it itself; `None` when there is none.
    pub fn stream(mut self) -> Option<worker::ByteStream> {
        self.response.stream().ok()
    }

    /// The body, at most `limit` bytes (`TooLarge` past it, without reading the rest).
    pub async fn body(mut self, limit: usize) -> Result<Vec<u8>, Failure> {
        let declared = self
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(Failure::TooLarge);
        }
        let stream = match self.response.stream() {
            Ok(stream) => stream,
            // No body at all.
            Err(_) => return Ok(Vec::new()),
        };
        match read_capped(stream, limit).await {
            Ok(Capped::Whole(bytes)) => Ok(bytes),
            Ok(Capped::Over) => Err(Failure::TooLarge),
            Err(_) if self.signal.aborted() => Err(Failure::Timeout),
            Err(_) => Err(Failure::Network),
        }
    }
}

/// Sends `call`, following redirects by hand with every hop checked.
pub async fn send(call: Call) -> Result<Reply, Failure> {
    let signal: AbortSignal = web_sys::AbortSignal::timeout_with_u32(call.timeout_ms).into();
    let mut url = check_url(&call.url, call.allow_private).map_err(Failure::Blocked)?;
    let (mut method, mut body, mut headers) = (call.method, call.body, call.headers);
    for _ in 0..=MAX_REDIRECTS {
        // web-sys's own RequestInit: the worker crate's converts its `cf` options through serde,
        // which costs the wasm about 7 KB that no outbound call uses.
        let init = web_sys::RequestInit::new();
        init.set_method(method.as_ref());
        init.set_headers(&headers.0);
        init.set_redirect(web_sys::RequestRedirect::Manual);
        if let Some(body) = &body {
            init.set_body(&JsValue::from_str(body));
        }
        let request = web_sys::Request::new_with_str_and_init(&url.href, &init)
            .map_err(|_| Failure::Network)?;
        let response = match Fetch::Request(Request::from(request))
            .send_with_signal(&signal)
            .await
        {
            Ok(response) => response,
            Err(_) if signal.aborted() => return Err(Failure::Timeout),
            Err(_) => return Err(Failure::Network),
        };
        let status = response.status_code();
        let location = response.headers().get("location").ok().flatten();
        let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
        else {
            return Ok(Reply { response, signal });
        };
        let next =
            resolve(&location, &url.href).ok_or(Failure::Blocked("redirects to an invalid URL"))?;
        let next = check_url(&next, call.allow_private).map_err(Failure::Blocked)?;
        if origin(&next) != origin(&url) {
            headers = only_content_type(&headers);
        }
        // What browsers do: 303, and 301/302 after a POST, continue as a GET without the body.
        if status == 303 || (matches!(status, 301 | 302) && method == Method::Post) {
            method = Method::Get;
            body = None;
            let _ = headers.delete("content-type");
        }
        url = next;
    }
    Err(Failure::TooManyRedirects)
}

/// A `Location` (possibly relative) against the URL that sent it.
fn resolve(location: &str, base: &str) -> Option<String> {
    web_sys::Url::new_with_base(location, base)
        .ok()
        .map(|u| u.href())
}

fn origin(url: &UrlParts) -> Option<String> {
    web_sys::Url::new(&url.href).ok().map(|u| u.origin())
}

fn only_content_type(headers: &Headers) -> Headers {
    let kept = Headers::new();
    if let Some(value) = headers.get("content-type").ok().flatten() {
        let _ = kept.set("content-type", &value);
    }
    kept
}
