//! Request parameters as Prometheus reads them: from the query string and, for POST, from a
//! form body; times as RFC 3339 or Unix seconds; durations as seconds or `5m`-style.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::response::ApiError;

/// The decoded parameters of one request (repeated keys kept).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

/// A request's parameters: its query string and, for POST, its form body.
impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let query = req.uri().query().map(str::to_string);
        let post = req.method() == Method::POST;
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self::from_parts(query.as_deref(), post.then_some(&body)))
    }
}

impl Params {
    /// Collects parameters from a query string and a form body.
    pub fn from_parts(query: Option<&str>, form: Option<&Bytes>) -> Self {
        let mut all: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            all.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        if let Some(body) = form {
            all.extend(form_urlencoded::parse(body).into_owned());
        }
        Self(all)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` (e.g. `match[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A required parameter.
    pub fn required(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad_data(format!("invalid parameter \"{key}\": missing")))
    }

    /// A time parameter in ms, or `default` when absent.
    pub fn time_or(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(v) => parse_time(v).ok_or_else(|| {
                ApiError::bad_data(format!(
                    "invalid parameter \"{key}\": cannot parse {v:?} to a valid timestamp"
                ))
            }),
        }
    }

    /// A duration parameter in ms.
    pub fn duration(&self, key: &str) -> Result<i64, ApiError> {
        let v = self.required(key)?;
        parse_duration(v).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid parameter \"{key}\": cannot parse {v:?} to a valid duration"
            ))
        })
    }
}

/// Unix seconds (fractions allowed) or RFC 3339, to ms; times beyond the engine's reach
/// (`1e300`) are clamped to it, as Prometheus clamps its API's times.
pub fn parse_time(s: &str) -> Option<i64> {
    parse_unclamped_time(s).map(crate::engine::selector::clamp_time_ms)
}

fn parse_unclamped_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() {
            // `as` saturates at i64's ends, which the clamp then brings in.
            return Some((secs * 1000.0).round() as i64);
        }
        return None;
    }
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    let ms = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).ok()?,
        Err(e) => -i64::try_from(e.duration().as_millis()).ok()?,
    };
    Some(ms)
}

/// Seconds (fractions allowed) or a Prometheus duration (`1h30m`, `5m`, `250ms`), to ms.
pub fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        return (secs.is_finite() && secs > 0.0).then(|| (secs * 1000.0).round() as i64);
    }
    taishan_core::duration::parse_ms(s)
        .ok()
        .filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_parse_like_prometheus() {
        assert_eq!(parse_time("1435781451.781"), Some(1_435_781_451_781));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Some(1_435_781_451_781)
        );
        assert_eq!(parse_time("yesterday"), None);
        let far = crate::engine::selector::MAX_SPAN_MS;
        assert_eq!(parse_time("1e300"), Some(far));
        assert_eq!(parse_time("-1e300"), Some(-far));
        assert_eq!(parse_duration("15"), Some(15_000));
        assert_eq!(parse_duration("1m30s"), Some(90_000));
        assert_eq!(parse_duration("0"), None);
        let p = Params::from_parts(Some("match%5B%5D=up&match[]=down&time=1"), None);
        assert_eq!(p.all("match[]"), vec!["up", "down"]);
        assert_eq!(p.time_or("time", 0).unwrap(), 1000);
    }
}
