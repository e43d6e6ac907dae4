//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) as a user agent
//! that signs nobody in: it asks the authorization endpoint, follows the issuer's
//! redirects carrying the cookies it sets, and stops at the client's redirect URI with
//! a code. An issuer that completes the authorization by itself (an automatic login,
//! a test setup) can so be driven at load; one that answers with a page is asking a
//! person to sign in, and the login fails saying so.
//!
//! Each login is a new browser: no cookie outlives it, so no session at the issuer
//! lets a later login skip its steps.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderValue, StatusCode, Uri};
use rand::RngExt;

use crate::exchange::{Request, Response};
use crate::rng::Rng;

/// Where and as whom the clients of a group ask for authorization.
pub struct AuthorizeAt {
    /// The authorization endpoint's URL.
    pub endpoint: String,
    /// The client's registered redirect URI, where the code comes back.
    pub redirect_uri: String,
    pub client_id: String,
    /// `scope`, `resource`, `audience` and any other parameters, as the token
    /// request's (RFC 8707 §2 puts `resource` in the authorization request too).
    pub params: Vec<(String, String)>,
}

/// What an authorization gave: the code, and the verifier that proves it was asked
/// for by this client.
pub struct Code {
    pub code: String,
    pub verifier: String,
}

/// The most redirects followed before giving up (browsers stop at about 20; an
/// automatic login takes two to four).
const MAX_REDIRECTS: usize = 10;

/// One authorization, sent through `send` (the client's own exchange), as `user`
/// (its `login_hint`). Err: why no code came back, in a person's words.
pub(crate) async fn authorize<F, Fut>(
    at: &AuthorizeAt,
    user: &str,
    rng: &mut Rng,
    mut send: F,
) -> Result<Code, String>
where
    F: FnMut(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response, crate::exchange::ExchangeError>>,
{
    let verifier = random_text(rng);
    let state = random_text(rng);
    let mut url = first_url(at, user, &verifier, &state, rng);
    let mut jar = Jar::default();
    for _ in 0..=MAX_REDIRECTS {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("authorization: `{url}` is not a URL: {e}"))?;
        let answer = send(jar.request(&uri))
            .await
            .map_err(|e| format!("authorization at {url}: {e}"))?;
        jar.keep(&uri, &answer);
        let next = next_step(&uri, &answer, &url)?;
        if let Some(query) = at_redirect_uri(&next, &at.redirect_uri) {
            let code = code_of(query, &state)?;
            return Ok(Code { code, verifier });
        }
        url = next;
    }
    Err(format!(
        "authorization: more than {MAX_REDIRECTS} redirects without reaching the redirect URI {}",
        at.redirect_uri
    ))
}

/// Where `answer` (to `uri`, written `url`) sends the user agent next; Err when it
/// sends it nowhere: a page, or an error.
fn next_step(uri: &Uri, answer: &Response, url: &str) -> Result<String, String> {
    let status = answer.status();
    if status.is_redirection() {
        let location = answer
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("authorization: {url} answered {status} with no Location"))?;
        return Ok(resolve(uri, location));
    }
    let kind = answer
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    if status == StatusCode::OK {
        return Err(format!(
            "authorization: {url} answered with a page ({status}, {kind}) instead of redirecting to the redirect URI: the issuer asks a person to sign in or consent, which a load test cannot do; use an issuer that completes the authorization by itself, or `grant: refresh_token` with refresh tokens obtained once"
        ));
    }
    let body = String::from_utf8_lossy(answer.body());
    let body: String = body.chars().take(200).collect();
    Err(format!("authorization: {url} answered {status}: {body}"))
}

/// The query of `location` when it is the redirect URI (with any query), else None.
fn at_redirect_uri<'a>(location: &'a str, redirect_uri: &str) -> Option<&'a str> {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    let registered = redirect_uri
        .split_once('?')
        .map_or(redirect_uri, |(b, _)| b);
    (base == registered).then_some(query)
}

/// The code of the redirect's `query`, after checking its `state` (RFC 6749 §10.12);
/// the issuer's error (§4.1.2.1) when it refused.
fn code_of(query: &str, state: &str) -> Result<String, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(error) = get("error") {
        let why = get("error_description").map_or(String::new(), |d| format!(": {d}"));
        return Err(format!("authorization refused by the issuer: {error}{why}"));
    }
    if get("state") != Some(state) {
        return Err(
            "authorization: the redirect's `state` is not the one sent (RFC 6749 §10.12)".into(),
        );
    }
    get("code")
        .map(str::to_string)
        .ok_or_else(|| "authorization: the redirect carries no `code`".into())
}

/// The authorization request's URL (RFC 6749 §4.1.1, RFC 7636 §4.3 with S256).
fn first_url(at: &AuthorizeAt, user: &str, verifier: &str, state: &str, rng: &mut Rng) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code");
    q.append_pair("client_id", &at.client_id);
    q.append_pair("redirect_uri", &at.redirect_uri);
    q.append_pair("state", state);
    q.append_pair("code_challenge", &challenge);
    q.append_pair("code_challenge_method", "S256");
    q.append_pair("login_hint", user);
    let openid = at
        .params
        .iter()
        .any(|(k, v)| k == "scope" && v.split(' ').any(|s| s == "openid"));
    if openid {
        // OpenID Connect Core §3.1.2.1: binds an id_token to this request.
        q.append_pair("nonce", &random_text(rng));
    }
    q.extend_pairs(at.params.iter());
    let sep = if at.endpoint.contains('?') { '&' } else { '?' };
    format!("{}{sep}{}", at.endpoint, q.finish())
}

/// 32 random bytes as base64url: a PKCE verifier (43 characters, RFC 7636 §4.1), and
/// a `state` or `nonce` no one can guess.
fn random_text(rng: &mut Rng) -> String {
    let bytes: [u8; 32] = rng.random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `location` as an absolute URL, relative to `base` (RFC 3986 §5.2, for the forms
/// issuers send: absolute, absolute path, or relative to the current path).
fn resolve(base: &Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let origin = crate::exchange::origin(base);
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{}://{rest}", base.scheme_str().unwrap_or("http"));
    }
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
    format!("{origin}{dir}/{location}")
}

/// The cookies an authorization's answers set, by host: sent back to their host only.
#[derive(Default)]
struct Jar {
    cookies: Vec<(String, String, String)>,
}

impl Jar {
    /// A GET of `uri` carrying its host's cookies, as a browser asks for a page.
    fn request(&self, uri: &Uri) -> Request {
        let mut req = Request::new(Bytes::new());
        *req.uri_mut() = uri.clone();
        let host = uri.host().unwrap_or("");
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect();
        let h = req.headers_mut();
        h.insert(ACCEPT, HeaderValue::from_static("text/html"));
        if !cookie.is_empty()
            && let Ok(v) = HeaderValue::try_from(cookie.join("; "))
        {
            h.insert(COOKIE, v);
        }
        req
    }

    /// Keeps the cookies `answer` (to `uri`) sets, a later one replacing an earlier
    /// one of the same name; an expired one (`Max-Age=0`) is dropped.
    fn keep(&mut self, uri: &Uri, answer: &Response) {
        let host = uri.host().unwrap_or("").to_string();
        for set in answer.headers().get_all(SET_COOKIE) {
            let Ok(text) = set.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let expired = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            self.cookies.retain(|(h, n, _)| !(*h == host && n == name));
            if !expired {
                self.cookies.push((host.clone(), name.into(), value.into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> AuthorizeAt {
        AuthorizeAt {
            endpoint: "https://id.example/auth".into(),
            redirect_uri: "https://app.example/cb".into(),
            client_id: "app".into(),
            params: vec![("scope".into(), "openid offline_access".into())],
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)]) -> Response {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            r.headers_mut().append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        r
    }

    fn run(
        answers: Vec<Response>,
        mut seen: impl FnMut(&Request),
    ) -> (Result<Code, String>, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut rng = crate::rng::rng(1, &[]);
        let mut answers = answers.into_iter();
        let mut first = None;
        let result = rt.block_on(authorize(&at(), "web-0", &mut rng, |req| {
            seen(&req);
            first.get_or_insert_with(|| req.uri().to_string());
            let a = answers.next().expect("no more answers");
            async move { Ok(a) }
        }));
        (result, first.unwrap_or_default())
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').unwrap().1;
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn follows_the_issuers_redirects_with_its_cookies_to_the_code() {
        let mut cookies = Vec::new();
        // A first run shows the request; the same seed draws the same state again, so
        // the second run's redirect can carry it.
        let (_, url) = run(vec![answer(200, &[])], |_| {});
        let q = query_of(&url);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("response_type").as_deref(), Some("code"));
        assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(get("login_hint").as_deref(), Some("web-0"));
        assert_eq!(get("scope").as_deref(), Some("openid offline_access"));
        assert!(get("nonce").is_some(), "openid asks for a nonce");
        assert_eq!(get("code_challenge").unwrap().len(), 43);
        let state = get("state").unwrap();
        let answers = vec![
            answer(
                302,
                &[
                    ("location", "/interaction/u1"),
                    ("set-cookie", "_i=abc; path=/interaction/u1; httponly"),
                    ("set-cookie", "_gone=x"),
                ],
            ),
            answer(
                303,
                &[
                    ("location", "https://id.example/auth/u1"),
                    ("set-cookie", "_gone=; max-age=0"),
                ],
            ),
            answer(
                302,
                &[(
                    "location",
                    &format!("https://app.example/cb?code=c0de&state={state}&iss=x"),
                )],
            ),
        ];
        let (result, _) = run(answers, |req| {
            cookies.push(
                req.headers()
                    .get(COOKIE)
                    .map(|v| v.to_str().unwrap().to_string()),
            );
        });
        let code = result.unwrap();
        assert_eq!(code.code, "c0de");
        assert_eq!(code.verifier.len(), 43);
        assert_eq!(
            cookies,
            [None, Some("_i=abc; _gone=x".into()), Some("_i=abc".into())]
        );
    }

    #[test]
    fn a_page_an_error_or_a_wrong_state_is_no_code() {
        let (r, _) = run(vec![answer(200, &[("content-type", "text/html")])], |_| {});
        let e = r.err().unwrap();
        assert!(
            e.contains("asks a person to sign in") && e.contains("text/html"),
            "{e}"
        );
        let refused = "https://app.example/cb?error=access_denied&error_description=no";
        let (r, _) = run(vec![answer(302, &[("location", refused)])], |_| {});
        assert_eq!(
            r.err().unwrap(),
            "authorization refused by the issuer: access_denied: no"
        );
        let forged = "https://app.example/cb?code=c&state=forged";
        let (r, _) = run(vec![answer(302, &[("location", forged)])], |_| {});
        assert!(r.err().unwrap().contains("RFC 6749 §10.12"));
        let (r, _) = run(vec![answer(400, &[])], |_| {});
        assert!(r.err().unwrap().contains("answered 400"));
        let loop_ = vec![answer(302, &[("location", "/again")]); MAX_REDIRECTS + 1];
        let (r, _) = run(loop_, |_| {});
        assert!(r.err().unwrap().contains("more than 10 redirects"));
    }

    #[test]
    fn locations_resolve_as_a_browser_resolves_them() {
        let base: Uri = "https://id.example/a/b?x=1".parse().unwrap();
        assert_eq!(resolve(&base, "/c"), "https://id.example/c");
        assert_eq!(resolve(&base, "c"), "https://id.example/a/c");
        assert_eq!(
            resolve(&base, "//other.example/d"),
            "https://other.example/d"
        );
        assert_eq!(resolve(&base, "http://x.example/"), "http://x.example/");
        assert_eq!(
            at_redirect_uri("https://app.example/cb?code=1", "https://app.example/cb"),
            Some("code=1")
        );
        assert_eq!(
            at_redirect_uri("https://app.example/cbx", "https://app.example/cb"),
            None
        );
    }
}
