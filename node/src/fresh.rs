//! Signatures expire: a request signed more than 15 minutes from the node's
//! clock (`x-amz-date`), or a presigned URL past its `X-Amz-Expires`, is refused
//! with 403 before it reaches the S3 layer, which checks the signature itself.

use futures::future::BoxFuture;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use s3s::service::S3Service;
use s3s::{Body, HttpError, HttpResponse};

/// How far a request's signing time may be from the node's clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// The S3 service behind the freshness check.
#[derive(Clone)]
pub struct Fresh {
    /// The S3 service.
    pub inner: S3Service,
}

/// Seconds since the Unix epoch of an AWS basic-format time (`20261202T035600Z`).
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // days from the civil date (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Why a request's signature is stale, if it is.
fn stale(req: &Request<Incoming>) -> Option<(&'static str, String)> {
    let query = |name: &str| {
        req.uri().query().and_then(|q| {
            q.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| v.to_string())
            })
        })
    };
    if let Some(date) = query("X-Amz-Date") {
        // a presigned URL: valid from its date for its lifetime
        let t = parse_amz_date(&date)?;
        let expires: i64 = query("X-Amz-Expires")?.parse().ok()?;
        if now() > t + expires {
            return Some(("AccessDenied", "Request has expired".into()));
        }
        return None;
    }
    let date = req.headers().get("x-amz-date")?.to_str().ok()?;
    let t = parse_amz_date(date)?;
    let skew = (now() - t).abs();
    (skew > MAX_SKEW_SECS).then(|| {
        (
            "RequestTimeTooSkewed",
            format!("The difference between the request time ({date}) and the node's time is {skew} s; at most {MAX_SKEW_SECS} s"),
        )
    })
}

impl hyper::service::Service<Request<Incoming>> for Fresh {
    type Response = HttpResponse;
    type Error = HttpError;
    type Future = BoxFuture<'static, Result<HttpResponse, HttpError>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        if let Some((code, message)) = stale(&req) {
            tracing::warn!(code, %message, path = %req.uri().path(), "stale signature");
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            );
            let mut resp = Response::new(Body::from(xml));
            *resp.status_mut() = StatusCode::FORBIDDEN;
            resp.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/xml"),
            );
            return Box::pin(async move { Ok(resp) });
        }
        hyper::service::Service::call(&self.inner, req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_parse_to_unix_time() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20261202T035600Z"), Some(1_796_183_760));
        assert_eq!(parse_amz_date("20000229T120000Z"), Some(951_825_600));
        assert_eq!(parse_amz_date("2026-12-02T03:56:00Z"), None);
        assert_eq!(parse_amz_date("20261302T000000Z"), None);
    }
}
