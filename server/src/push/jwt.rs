//! What the push services' credentials are made of: PKCS#8 keys read from the operator's files
//! (signed as JWTs by [`crate::jose`]), the service URLs and the HTTP client that reaches them.

use std::path::Path;
use std::time::Duration;

pub(super) use crate::jose::SigningKey;

/// Reads an operator's key or root file, naming the config key in the error (never the content).
pub(super) fn read_key_file(
    setting: &str,
    path: &Path,
) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    std::fs::read(path)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| format!("{setting} {}: {e}", path.display()))
}

/// `url` without a trailing `/`, if it is https (or http to a loopback address, for
/// stand-ins: the core's transport policy, [`authcore::http::check_url`]); `setting` names it in
/// the error.
pub(super) fn service_url(setting: &str, url: &str) -> Result<String, String> {
    if reqwest::Url::parse(url).is_err() {
        return Err(format!("{setting} {url:?} is not a URL"));
    }
    authcore::http::check_url(url)
        .map(|_| url.trim_end_matches('/').to_owned())
        .map_err(|_| format!("{setting} {url:?} must be an https URL"))
}

/// The client of one push service: timeouts set, no redirects, HTTP/2 only when `http2_only`
/// (ALPN `h2` over TLS, prior knowledge over loopback http), the public roots plus those of
/// `extra_roots` (a PEM file).
pub(super) fn http_client(
    http2_only: bool,
    extra_roots: Option<(&str, &Path)>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none());
    if http2_only {
        builder = builder.http2_prior_knowledge();
    }
    if let Some((setting, path)) = extra_roots {
        let pem = read_key_file(setting, path)?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|roots| !roots.is_empty())
            .ok_or_else(|| format!("{setting} {}: no PEM certificate in it", path.display()))?;
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    builder
        .build()
        .map_err(|e| format!("push service client: {e}"))
}

/// The `Retry-After` of an answer, in seconds (an HTTP date is not read: the backoff applies).
pub(super) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// A vendor's error code as it may be logged: a short word of `A-Z a-z 0-9 _ . -`, else a
/// placeholder (an answer never brings arbitrary text into the logs).
pub(super) fn code_of(code: &str) -> &str {
    let word = !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if word {
        code
    } else {
        "(no error code)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_are_https_except_to_loopback() {
        let url = |u: &str| service_url("push_sender.fcm.base_url", u);
        assert_eq!(
            url("https://fcm.googleapis.com/").unwrap(),
            "https://fcm.googleapis.com"
        );
        assert_eq!(
            url("http://127.0.0.1:4000").unwrap(),
            "http://127.0.0.1:4000"
        );
        assert_eq!(
            url("http://fcm.example").unwrap_err(),
            "push_sender.fcm.base_url \"http://fcm.example\" must be an https URL"
        );
        assert_eq!(
            url("fcm").unwrap_err(),
            "push_sender.fcm.base_url \"fcm\" is not a URL"
        );
    }

    #[test]
    fn only_short_words_of_an_answer_reach_the_logs() {
        assert_eq!(code_of("UNREGISTERED"), "UNREGISTERED");
        assert_eq!(code_of("BadDeviceToken"), "BadDeviceToken");
        assert_eq!(code_of("token abc123 is bad"), "(no error code)");
        assert_eq!(code_of(""), "(no error code)");
    }
}
