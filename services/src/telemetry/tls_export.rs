//! The exporters' HTTP client when Taishan's listeners serve TLS: reqwest's blocking
//! client (as the SDK's own) speaking rustls with the client config the process gives,
//! which trusts exactly the certificate Taishan serves.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

/// Answers larger than this are refused (the SDK's own limit).
const LARGEST_ANSWER: u64 = 4 << 20;
/// Time one export may take (the SDK's default).
const EXPORT_TIME: Duration = Duration::from_secs(10);

/// The TLS the exporters speak; compared by identity (a config is not comparable).
#[derive(Clone)]
pub struct ExportTls(pub Arc<rustls::ClientConfig>);

impl PartialEq for ExportTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for ExportTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportTls")
    }
}

/// A blocking client over `tls`.
#[derive(Debug)]
pub(super) struct TlsExportClient(reqwest::blocking::Client);

impl TlsExportClient {
    /// Built on a thread of its own: the blocking client owns a runtime, which may not
    /// be made inside the services' async one.
    pub(super) fn new(tls: &ExportTls) -> Result<Self, String> {
        let config = (*tls.0).clone();
        std::thread::Builder::new()
            .name("otlp-tls-client".into())
            .spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(EXPORT_TIME)
                    .use_preconfigured_tls(config)
                    .build()
            })
            .map_err(|e| e.to_string())?
            .join()
            .map_err(|_| "building the TLS export client panicked".to_string())?
            .map(Self)
            .map_err(|e| e.to_string())
    }
}

#[async_trait::async_trait]
impl HttpClient for TlsExportClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::blocking::Request::try_from(request.map(|b| b.to_vec()))?;
        let mut response = self.0.execute(request)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        response.take(LARGEST_ANSWER + 1).read_to_end(&mut body)?;
        if body.len() as u64 > LARGEST_ANSWER {
            return Err("the receiver's answer is larger than 4 MiB".into());
        }
        let mut answer = Response::builder().status(status).body(Bytes::from(body))?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}
