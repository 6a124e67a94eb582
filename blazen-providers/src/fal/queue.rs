//! fal's queue API (`https://queue.fal.run`): submit a request to an endpoint, poll
//! `…/requests/{id}/status`, fetch `…/requests/{id}`, cancel with `…/requests/{id}/cancel`.
//!
//! Status, result and cancel URLs are built from the endpoint's app id (its first two path
//! segments, as fal's docs say) under our own base URL, never taken from a response, so the key
//! is only ever sent to the configured host.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::{Client, Method, Response};
use serde::Deserialize;
use serde_json::Value;

use super::compute::{from_result, to_input};
use super::PROVIDER;
use crate::compute::{
    ComputeBackend, ComputeJob, ComputeOutput, ComputeRequest, JobInfo, JobStatus, PollConfig,
    RemoteJob, RemoteStatus,
};
use crate::error::{BlazenError, Kind, Result};
use crate::http::{self, Auth};
use crate::types::secs_to_ms;
use crate::types::RequestTiming;

pub(crate) const DEFAULT_QUEUE_URL: &str = "https://queue.fal.run";

/// fal's queue, as a compute backend.
#[derive(Debug, Clone)]
pub(crate) struct FalQueue {
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
}

impl FalQueue {
    pub(crate) fn new(auth: Auth) -> Self {
        Self {
            client: http::HttpClient::new(),
            auth,
            base_url: DEFAULT_QUEUE_URL.to_owned(),
        }
    }
}

/// The app id of an endpoint: `fal-ai/flux/dev` → `fal-ai/flux`.
pub(crate) fn app_id(endpoint: &str) -> &str {
    let mut slashes = endpoint.match_indices('/');
    match (slashes.next(), slashes.next()) {
        (Some(_), Some((second, _))) => &endpoint[..second],
        _ => endpoint,
    }
}

fn check_endpoint(endpoint: &str) -> Result<()> {
    let ok = !endpoint.is_empty()
        && !endpoint.starts_with('/')
        && endpoint.contains('/')
        && endpoint.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(BlazenError::validation(format!(
            "fal endpoint must look like owner/app[/path], got {endpoint:?}"
        )))
    }
}

/// Whether a fal error says the account's balance is exhausted.
fn is_quota_message(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("exhausted balance")
        || text.contains("insufficient balance")
        || text.contains("top up your balance")
}

/// Passes a success through; maps an error status (quota messages → QuotaExceeded).
async fn check(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = http::read_capped(PROVIDER, response, 64 * 1024)
        .await
        .unwrap_or_default();
    Err(classify(status.as_u16(), &headers, &body))
}

/// The error of a failed fal response. fal reports an exhausted balance as a 403 "User is
/// locked" (an auth status): it becomes QuotaExceeded, keeping status, code, request id and
/// raw body.
fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> BlazenError {
    let err = BlazenError::from_http(PROVIDER, status, headers, body);
    if is_quota_message(body) {
        err.into_kind(Kind::QuotaExceeded)
    } else {
        err
    }
}

async fn request(
    client: &Client,
    auth: &Auth,
    method: Method,
    url: &str,
    body: Option<Vec<u8>>,
) -> Result<Response> {
    let mut builder = client.request(method, url);
    if let Some(body) = body {
        builder = builder
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let response = http::idle_limited(PROVIDER, auth.apply(builder, PROVIDER)?.send())
        .await?
        .map_err(|e| BlazenError::from_reqwest(PROVIDER, e))?;
    check(response).await
}

async fn read_json(response: Response) -> Result<Value> {
    let body = http::read_body(PROVIDER, response).await?;
    serde_json::from_slice(&body).map_err(|e| {
        BlazenError::invalid_response(PROVIDER, format!("unexpected response: {e}"), &body)
    })
}

#[derive(Debug, Deserialize)]
struct SubmitResponse {
    request_id: String,
}

// Every error of the queue leaves through `Auth::scrub`: fal answers may echo the request,
// `Authorization: Key <key>` included, in any error body (submit, status, result, cancel).
#[async_trait]
impl ComputeBackend for FalQueue {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    async fn submit(&self, request: ComputeRequest, poll: PollConfig) -> Result<ComputeJob> {
        self.auth.scrub_result(self.submit_job(request, poll).await)
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn ComputeBackend> {
        Arc::new(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        })
    }
}

impl FalQueue {
    async fn submit_job(&self, request: ComputeRequest, poll: PollConfig) -> Result<ComputeJob> {
        let (endpoint, input) = to_input(&request);
        check_endpoint(&endpoint)?;
        let body = crate::http::json_body(&input)?;
        let url = format!("{}/{endpoint}", self.base_url);
        let response = request_json(self, Method::POST, &url, Some(body)).await?;
        let submitted: SubmitResponse = serde_json::from_value(response.clone()).map_err(|e| {
            BlazenError::invalid_response(
                PROVIDER,
                format!("the submit answer has no request_id: {e}"),
                response.to_string(),
            )
        })?;
        let app = app_id(&endpoint).to_owned();
        let job = FalJob {
            client: self.client.clone(),
            auth: self.auth.clone(),
            requests_url: format!("{}/{app}/requests/{}", self.base_url, submitted.request_id),
            request_id: submitted.request_id.clone(),
            endpoint,
            kind: request.kind(),
        };
        Ok(ComputeJob::remote(
            submitted.request_id,
            request.kind(),
            PROVIDER,
            poll,
            Box::new(job),
        ))
    }
}

async fn request_json(
    q: &FalQueue,
    method: Method,
    url: &str,
    body: Option<Vec<u8>>,
) -> Result<Value> {
    read_json(request(&q.client, &q.auth, method, url, body).await?).await
}

/// One request in fal's queue.
#[derive(Debug)]
struct FalJob {
    client: http::HttpClient,
    auth: Auth,
    requests_url: String,
    request_id: String,
    endpoint: String,
    kind: &'static str,
}

#[derive(Debug, Deserialize)]
struct StatusResponse {
    status: String,
    #[serde(default)]
    queue_position: Option<u64>,
    #[serde(default)]
    logs: Option<Vec<LogLine>>,
    #[serde(default)]
    metrics: Option<Metrics>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct LogLine {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct Metrics {
    #[serde(default)]
    inference_time: Option<f64>,
}

#[async_trait]
impl RemoteJob for FalJob {
    async fn status(&self) -> Result<RemoteStatus> {
        self.auth.scrub_result(self.fetch_status().await)
    }

    async fn result(&self, timing: RequestTiming) -> Result<ComputeOutput> {
        self.auth.scrub_result(self.fetch_result(timing).await)
    }

    async fn cancel(&self) -> Result<bool> {
        self.auth.scrub_result(self.request_cancel().await)
    }
}

impl FalJob {
    async fn fetch_status(&self) -> Result<RemoteStatus> {
        let url = format!("{}/status?logs=1", self.requests_url);
        let response = match request(&self.client, &self.auth, Method::GET, &url, None).await {
            Ok(r) => r,
            // The queue no longer knows this request (expired or never existed): the job is
            // lost, not the model (a 404 is otherwise "model or endpoint not found").
            Err(e) if e.status() == Some(404) => return Err(e.into_kind(Kind::JobFailed)),
            Err(e) => return Err(e),
        };
        let value = read_json(response).await?;
        let s: StatusResponse = serde_json::from_value(value.clone()).map_err(|e| {
            BlazenError::invalid_response(
                PROVIDER,
                format!("unexpected status answer: {e}"),
                value.to_string(),
            )
        })?;
        let error = s.error.filter(|e| !e.is_null()).map(|e| match e {
            Value::String(s) => s,
            other => other.to_string(),
        });
        let status = match s.status.to_ascii_uppercase().as_str() {
            "IN_QUEUE" | "QUEUED" => JobStatus::Queued,
            "IN_PROGRESS" | "RUNNING" => JobStatus::Running,
            "COMPLETED" | "OK" => JobStatus::Completed,
            "CANCELLED" | "CANCELED" | "CANCELLATION_REQUESTED" => JobStatus::Cancelled,
            "FAILED" | "ERROR" => JobStatus::Failed,
            other => {
                return Err(BlazenError::invalid_response(
                    PROVIDER,
                    format!("unknown job status {other:?}"),
                    value.to_string(),
                ))
            }
        };
        Ok(RemoteStatus {
            status,
            queue_position: s.queue_position,
            logs: s
                .logs
                .unwrap_or_default()
                .into_iter()
                .map(|l| l.message)
                .collect(),
            error,
            execution_ms: s
                .metrics
                .and_then(|m| m.inference_time)
                .and_then(secs_to_ms),
        })
    }

    async fn fetch_result(&self, timing: RequestTiming) -> Result<ComputeOutput> {
        let response = match request(
            &self.client,
            &self.auth,
            Method::GET,
            &self.requests_url,
            None,
        )
        .await
        {
            Ok(r) => r,
            // The app failed the request: auth, quota, rate and input errors keep their
            // category; anything else is the job failing.
            Err(e) if matches!(e.status(), Some(401 | 402 | 403 | 422 | 429)) => return Err(e),
            Err(e) if matches!(e, BlazenError::QuotaExceeded { .. }) => return Err(e),
            Err(e) if e.status().is_some() => return Err(e.into_kind(Kind::JobFailed)),
            Err(e) => return Err(e),
        };
        let result = read_json(response).await?;
        let job = JobInfo {
            id: Some(self.request_id.clone()),
            provider: PROVIDER.to_owned(),
            model: self.endpoint.clone(),
            timing,
            raw: Value::Null,
        };
        from_result(self.kind, job, result)
    }

    async fn request_cancel(&self) -> Result<bool> {
        let url = format!("{}/cancel", self.requests_url);
        match request(&self.client, &self.auth, Method::PUT, &url, None).await {
            Ok(_) => Ok(true),
            Err(e)
                if e.status() == Some(400)
                    && e.raw_body()
                        .is_some_and(|b| b.contains("ALREADY_COMPLETED")) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_drop_the_subpath() {
        assert_eq!(app_id("fal-ai/flux/dev"), "fal-ai/flux");
        assert_eq!(
            app_id("fal-ai/kling-video/v2.1/master/text-to-video"),
            "fal-ai/kling-video"
        );
        assert_eq!(app_id("fal-ai/whisper"), "fal-ai/whisper");
    }

    #[test]
    fn endpoints_are_checked() {
        assert!(check_endpoint("fal-ai/flux/dev").is_ok());
        assert!(check_endpoint("tripo3d/tripo/v2.5/text-to-3d").is_ok());
        for bad in [
            "",
            "flux",
            "/fal-ai/flux",
            "fal-ai/../x",
            "fal-ai//x",
            "fal-ai/flux?x=1",
            "fal-ai/fl ux",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exhausted_balance_becomes_quota_and_keeps_every_detail() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-fal-request-id",
            reqwest::header::HeaderValue::from_static("req_fal_1"),
        );
        let body = br#"{"detail":"User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.","code":"user_locked"}"#;
        let err = classify(403, &headers, body);
        assert!(matches!(err, BlazenError::QuotaExceeded { .. }), "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.code(), Some("user_locked"));
        assert_eq!(err.request_id(), Some("req_fal_1"));
        assert_eq!(err.provider(), Some(PROVIDER));
        assert_eq!(err.raw_body(), Some(std::str::from_utf8(body).unwrap()));
        assert!(err.message().contains("Exhausted balance"));
        assert!(err
            .to_string()
            .starts_with("quota exceeded: User is locked"));
        // A plain bad key stays an auth error.
        let err = classify(
            401,
            &headers,
            br#"{"detail":"No user found for Key ID and Secret"}"#,
        );
        assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    }

    #[test]
    fn quota_messages_are_recognised() {
        assert!(is_quota_message(b"User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."));
        assert!(!is_quota_message(b"No user found for Key ID and Secret"));
    }
}
