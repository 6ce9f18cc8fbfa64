//! PLACEHOLDER for the HTTP layer (another engineer's `transport.rs` replaces this file). It has
//! exactly the surface the generated clients and adapters use, and sends requests unchanged.

/// What every generated client holds: the base URL and the shared HTTP client.
#[derive(Clone, Debug)]
pub struct Transport {
    base_url: String,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

impl Transport {
    /// No credentials: sends requests as they are (tests, simulator without auth).
    pub fn plain(base_url: impl Into<String>) -> Transport {
        Transport {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Adds credentials and Vipps headers before a request leaves (nothing, in the placeholder).
    pub async fn prepare(
        &self,
        _request: &mut reqwest::Request,
        _operation: &str,
    ) -> Result<(), TransportError> {
        Ok(())
    }

    /// Sends the request (the real layer adds retries and rate limits).
    pub async fn execute(
        &self,
        request: reqwest::Request,
        _operation: &str,
    ) -> reqwest::Result<reqwest::Response> {
        self.http.execute(request).await
    }
}
