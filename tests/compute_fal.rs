//! fal queue jobs against a local wiremock server that plays fal's queue API: submit, status
//! polls (three IN_PROGRESS then COMPLETED), result; failures, cancel, timeout, quota, auth,
//! validation before sending, and the typed outputs of every job kind. Short poll intervals
//! keep the flows fast (the back-off itself is unit-tested with paused time).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blazen_providers::{
    BlazenError, ComputeModel, ImageRequest, JobStatus, MediaType, MusicRequest, PollConfig,
    SpeechRequest, ThreeDRequest, TranscriptionRequest, UpscaleRequest, VideoRequest,
};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fast() -> PollConfig {
    PollConfig {
        initial_interval: Duration::from_millis(5),
        multiplier: 1.5,
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    }
}

fn media(server: &MockServer) -> ComputeModel {
    ComputeModel::fal("fal-test-key")
        .with_base_url(server.uri())
        .with_poll(fast())
}

/// Answers status polls from a script; the last entry repeats.
struct Script {
    replies: Vec<(u16, Value)>,
    n: AtomicUsize,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self
            .n
            .fetch_add(1, Ordering::SeqCst)
            .min(self.replies.len() - 1);
        let (status, body) = &self.replies[i];
        ResponseTemplate::new(*status).set_body_json(body)
    }
}

async fn mount_submit(server: &MockServer, endpoint: &str, request_id: &str) {
    Mock::given(method("POST"))
        .and(path(format!("/{endpoint}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "request_id": request_id,
            "status": "IN_QUEUE",
            "queue_position": 0,
            "response_url": format!("https://queue.fal.run/x/requests/{request_id}"),
        })))
        .mount(server)
        .await;
}

async fn mount_status(
    server: &MockServer,
    app: &str,
    request_id: &str,
    replies: Vec<(u16, Value)>,
) {
    Mock::given(method("GET"))
        .and(path(format!("/{app}/requests/{request_id}/status")))
        .respond_with(Script {
            replies,
            n: AtomicUsize::new(0),
        })
        .mount(server)
        .await;
}

async fn mount_result(server: &MockServer, app: &str, request_id: &str, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/{app}/requests/{request_id}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

/// A server where `endpoint` completes at once with `result`.
async fn completes_with(endpoint: &str, result: Value) -> (MockServer, ComputeModel) {
    let server = MockServer::start().await;
    let app: String = endpoint.split('/').take(2).collect::<Vec<_>>().join("/");
    mount_submit(&server, endpoint, "r1").await;
    mount_status(
        &server,
        &app,
        "r1",
        vec![(200, json!({"status": "COMPLETED"}))],
    )
    .await;
    mount_result(&server, &app, "r1", 200, result).await;
    let m = media(&server);
    (server, m)
}

async fn submitted_body(server: &MockServer) -> Value {
    let reqs = server.received_requests().await.unwrap();
    let post = reqs
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a submit");
    serde_json::from_slice(&post.body).unwrap()
}

#[tokio::test]
async fn image_job_submits_polls_three_times_in_progress_then_fetches_the_result() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/fal-ai/flux/dev"))
        .and(header("authorization", "Key fal-test-key"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"request_id": "req-1", "status": "IN_QUEUE"})),
        )
        .mount(&server)
        .await;
    let progress =
        |msg: &str| json!({"status": "IN_PROGRESS", "logs": [{"message": msg, "level": "INFO"}]});
    mount_status(
        &server,
        "fal-ai/flux",
        "req-1",
        vec![
            (202, progress("step 1")),
            (202, progress("step 2")),
            (202, progress("step 3")),
            (
                200,
                json!({"status": "COMPLETED", "metrics": {"inference_time": 1.5}}),
            ),
        ],
    )
    .await;
    mount_result(
        &server,
        "fal-ai/flux",
        "req-1",
        200,
        json!({"images": [
            {"url": "https://v3.fal.media/files/a.png", "width": 1024, "height": 1024, "content_type": "image/png"},
            {"url": "https://v3.fal.media/files/b.jpg", "width": 1024, "height": 1024}
        ], "seed": 42}),
    )
    .await;

    let model = media(&server);
    let job = model
        .submit(
            ImageRequest::new("a cat in space")
                .size(1024, 1024)
                .num_images(2),
        )
        .await
        .unwrap();
    assert_eq!(job.id(), Some("req-1"));
    assert_eq!(job.kind(), "image");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let out = job
        .wait_with(move |p| {
            seen2
                .lock()
                .unwrap()
                .push((p.status, p.logs.len(), p.polls))
        })
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    // (status, log lines kept so far, polls): three IN_PROGRESS polls, then COMPLETED.
    assert_eq!(
        seen,
        vec![
            (JobStatus::Running, 1, 1),
            (JobStatus::Running, 1, 2),
            (JobStatus::Running, 1, 3),
            (JobStatus::Completed, 1, 4),
        ]
    );
    let blazen_providers::ComputeOutput::Image(out) = out else {
        panic!("an image output")
    };
    assert_eq!(out.images.len(), 2);
    assert_eq!(
        out.images[0].url.as_deref(),
        Some("https://v3.fal.media/files/a.png")
    );
    assert_eq!(out.images[0].media_type, Some(MediaType::PNG));
    assert_eq!(out.images[0].width, Some(1024));
    assert_eq!(
        out.images[1].media_type,
        Some(MediaType::JPEG),
        "from the extension"
    );
    assert_eq!(out.job.id.as_deref(), Some("req-1"));
    assert_eq!(out.job.model, "fal-ai/flux/dev");
    assert_eq!(out.job.provider, "fal");
    assert_eq!(out.job.timing.execution_ms, Some(1500));
    assert!(out.job.timing.total_ms.is_some());
    assert_eq!(out.job.raw["seed"], 42);

    let body = submitted_body(&server).await;
    assert_eq!(
        body,
        json!({"prompt": "a cat in space", "image_size": {"width": 1024, "height": 1024}, "num_images": 2})
    );
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.url.path().ends_with("/status"))
            .count(),
        4
    );
    assert!(reqs
        .iter()
        .all(|r| r.headers.get("authorization").unwrap() == "Key fal-test-key"));
}

#[tokio::test]
async fn failed_jobs_are_job_failed_errors() {
    for status in [
        json!({"status": "COMPLETED", "error": "CUDA out of memory", "error_type": "runner_error"}),
        json!({"status": "FAILED", "error": "CUDA out of memory"}),
    ] {
        let server = MockServer::start().await;
        mount_submit(&server, "fal-ai/flux/dev", "r1").await;
        mount_status(
            &server,
            "fal-ai/flux",
            "r1",
            vec![(200, json!({"status": "IN_PROGRESS"})), (200, status)],
        )
        .await;
        let err = media(&server)
            .generate_image(ImageRequest::new("x"))
            .await
            .unwrap_err();
        assert!(matches!(err, BlazenError::JobFailed { .. }), "{err:?}");
        assert!(err.to_string().starts_with("job failed"), "{err}");
        assert!(err.to_string().contains("CUDA out of memory"));
        assert!(!err.is_retryable());
    }

    // The app failed the request: the result endpoint answers 500.
    let server = MockServer::start().await;
    mount_submit(&server, "fal-ai/flux/dev", "r1").await;
    mount_status(
        &server,
        "fal-ai/flux",
        "r1",
        vec![(200, json!({"status": "COMPLETED"}))],
    )
    .await;
    mount_result(
        &server,
        "fal-ai/flux",
        "r1",
        500,
        json!({"detail": "Internal server error in the app"}),
    )
    .await;
    let err = media(&server)
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::JobFailed { .. }), "{err:?}");

    // An input the app rejects (422) stays a validation error.
    let server = MockServer::start().await;
    mount_submit(&server, "fal-ai/flux/dev", "r1").await;
    mount_status(
        &server,
        "fal-ai/flux",
        "r1",
        vec![(200, json!({"status": "COMPLETED"}))],
    )
    .await;
    mount_result(&server, "fal-ai/flux", "r1", 422, json!({"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]})).await;
    let err = media(&server)
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
}

#[tokio::test]
async fn cancel_stops_waiting_and_asks_fal_to_cancel() {
    let server = MockServer::start().await;
    mount_submit(&server, "fal-ai/flux/dev", "r1").await;
    mount_status(
        &server,
        "fal-ai/flux",
        "r1",
        vec![(202, json!({"status": "IN_QUEUE", "queue_position": 3}))],
    )
    .await;
    Mock::given(method("PUT"))
        .and(path("/fal-ai/flux/requests/r1/cancel"))
        .respond_with(
            ResponseTemplate::new(202).set_body_json(json!({"status": "CANCELLATION_REQUESTED"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let job = media(&server).submit(ImageRequest::new("x")).await.unwrap();
    let waiter = {
        let job = job.clone();
        tokio::spawn(async move { job.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(60)).await;
    let progress = job.last_progress().expect("polled");
    assert_eq!(progress.status, JobStatus::Queued);
    assert_eq!(progress.queue_position, Some(3));
    assert!(job.cancel().await.unwrap(), "cancellation requested");
    let err = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("wait returns promptly")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, BlazenError::Cancelled { .. }), "{err:?}");
    assert!(job.is_cancelled());
    assert_eq!(job.status().await.unwrap().status, JobStatus::Cancelled);
    assert!(matches!(
        job.wait().await,
        Err(BlazenError::Cancelled { .. })
    ));
}

#[tokio::test]
async fn cancel_after_completion_says_so() {
    let server = MockServer::start().await;
    mount_submit(&server, "fal-ai/flux/dev", "r1").await;
    Mock::given(method("PUT"))
        .and(path("/fal-ai/flux/requests/r1/cancel"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"status": "ALREADY_COMPLETED"})),
        )
        .mount(&server)
        .await;
    let job = media(&server).submit(ImageRequest::new("x")).await.unwrap();
    assert!(!job.cancel().await.unwrap());
}

#[tokio::test]
async fn waiting_past_the_deadline_is_a_timeout() {
    let server = MockServer::start().await;
    mount_submit(&server, "fal-ai/flux/dev", "r1").await;
    mount_status(
        &server,
        "fal-ai/flux",
        "r1",
        vec![(202, json!({"status": "IN_QUEUE"}))],
    )
    .await;
    let model = media(&server).with_poll(PollConfig {
        timeout: Duration::from_millis(80),
        ..fast()
    });
    let started = std::time::Instant::now();
    let err = model
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().starts_with("timed out after"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn exhausted_balance_is_quota_exceeded_and_bad_key_is_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."})))
        .mount(&server)
        .await;
    let err = media(&server)
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::QuotaExceeded { .. }), "{err:?}");
    assert!(!err.is_retryable());

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"detail": "No user found for Key ID and Secret"})),
        )
        .mount(&server)
        .await;
    let err = media(&server)
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Auth { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("fal-test-key"));
}

#[tokio::test]
async fn invalid_requests_fail_before_anything_is_sent() {
    let server = MockServer::start().await;
    let model = media(&server);
    let err = model
        .generate_3d(ThreeDRequest::new().format("glb"))
        .await
        .unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert!(err.to_string().starts_with("invalid input"), "{err}");
    assert!(matches!(
        model.generate_image(ImageRequest::new("  ")).await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(matches!(
        model.upscale(UpscaleRequest::new("not a url", 2.0)).await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(matches!(
        model
            .generate_video(VideoRequest::new("x").duration_seconds(-1.0))
            .await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(matches!(
        model.transcribe(TranscriptionRequest::new("")).await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(matches!(
        model.speech(SpeechRequest::new("hi").speed(0.0)).await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(matches!(
        model
            .generate_image(ImageRequest::new("x").model("../etc"))
            .await,
        Err(BlazenError::Validation { .. })
    ));
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn video_job_types_its_output_and_picks_the_image_to_video_endpoint() {
    let endpoint = "fal-ai/kling-video/v2.1/master/image-to-video";
    let (server, model) = completes_with(
        endpoint,
        json!({"video": {"url": "https://v3.fal.media/files/v.mp4", "content_type": "video/mp4", "file_size": 123_456}}),
    )
    .await;
    let out = model
        .generate_video(
            VideoRequest::new("animate this")
                .image_url("https://example.com/f.jpg")
                .duration_seconds(5.0),
        )
        .await
        .unwrap();
    assert_eq!(out.video.media_type, Some(MediaType::MP4));
    assert_eq!(out.video.file_size, Some(123_456));
    assert_eq!(out.job.model, endpoint);
    let body = submitted_body(&server).await;
    assert_eq!(body["image_url"], "https://example.com/f.jpg");
    assert_eq!(body["duration"], "5");
}

#[tokio::test]
async fn transcription_job_reads_text_segments_and_language() {
    let (server, model) = completes_with(
        "fal-ai/whisper",
        json!({"text": "hello world", "inferred_languages": ["en"], "chunks": [
            {"timestamp": [0.0, 1.2], "text": "hello", "speaker": "SPEAKER_00"},
            {"timestamp": [1.2, 2.0], "text": " world", "speaker": "SPEAKER_01"}
        ]}),
    )
    .await;
    let out = model
        .transcribe(
            TranscriptionRequest::new("https://example.com/a.mp3")
                .language("en")
                .diarize(true),
        )
        .await
        .unwrap();
    assert_eq!(out.text, "hello world");
    assert_eq!(out.language.as_deref(), Some("en"));
    assert_eq!(out.segments.len(), 2);
    assert_eq!(out.segments[1].start, Some(1.2));
    assert_eq!(out.segments[1].speaker.as_deref(), Some("SPEAKER_01"));
    let body = submitted_body(&server).await;
    assert_eq!(body["diarize"], true);
    assert_eq!(body["audio_url"], "https://example.com/a.mp3");
}

#[tokio::test]
async fn three_d_speech_music_and_upscale_outputs_are_typed() {
    let (server, model) = completes_with(
        "fal-ai/trellis",
        json!({"model_mesh": {"url": "https://v3.fal.media/files/m.glb", "content_type": "model/gltf-binary", "file_size": 999}}),
    )
    .await;
    let out = model
        .generate_3d(ThreeDRequest::from_image("https://example.com/p.jpg").format("glb"))
        .await
        .unwrap();
    assert_eq!(out.model.media_type, Some(MediaType::GLB));
    assert_eq!(out.model.file_size, Some(999));
    assert_eq!(submitted_body(&server).await["output_format"], "glb");

    let (_s, model) = completes_with(
        "tripo3d/tripo/v2.5/text-to-3d",
        json!({"model_mesh": {"url": "https://x/m.glb"}}),
    )
    .await;
    assert_eq!(
        model
            .generate_3d(ThreeDRequest::from_prompt("a 3D cat"))
            .await
            .unwrap()
            .model
            .media_type,
        Some(MediaType::GLB)
    );

    let (server, model) = completes_with(
        "fal-ai/kokoro/american-english",
        json!({"audio": {"url": "https://x/s.wav"}}),
    )
    .await;
    let out = model
        .speech(
            SpeechRequest::new("Hello world")
                .voice("af_heart")
                .speed(1.2),
        )
        .await
        .unwrap();
    assert_eq!(out.audio.media_type, Some(MediaType::WAV));
    let body = submitted_body(&server).await;
    assert_eq!(
        (
            body["prompt"].as_str(),
            body["voice"].as_str(),
            body["speed"].as_f64()
        ),
        (Some("Hello world"), Some("af_heart"), Some(1.2))
    );

    let (server, model) = completes_with(
        "fal-ai/f5-tts",
        json!({"audio_url": {"url": "https://x/c.mp3"}}),
    )
    .await;
    let out = model
        .speech(SpeechRequest::new("Hi").voice_url("https://example.com/me.wav"))
        .await
        .unwrap();
    assert_eq!(out.audio.media_type, Some(MediaType::MP3));
    assert_eq!(
        submitted_body(&server).await["ref_audio_url"],
        "https://example.com/me.wav"
    );

    let (server, model) = completes_with(
        "fal-ai/stable-audio",
        json!({"audio_file": {"url": "https://x/m.wav", "content_type": "audio/wav"}}),
    )
    .await;
    let out = model
        .music(MusicRequest::new("upbeat jazz").duration_seconds(30.0))
        .await
        .unwrap();
    assert_eq!(out.audio.media_type, Some(MediaType::WAV));
    assert_eq!(submitted_body(&server).await["seconds_total"], 30.0);

    let (server, model) = completes_with(
        "fal-ai/esrgan",
        json!({"image": {"url": "https://x/u.png", "width": 4096, "height": 4096}}),
    )
    .await;
    let out = model
        .upscale(UpscaleRequest::new("https://example.com/p.jpg", 4.0).param("face", true))
        .await
        .unwrap();
    assert_eq!(out.images[0].width, Some(4096));
    assert_eq!(
        submitted_body(&server).await,
        json!({"image_url": "https://example.com/p.jpg", "scale": 4.0, "face": true})
    );
}

#[tokio::test]
async fn a_result_without_files_is_an_invalid_response() {
    let (_s, model) = completes_with("fal-ai/flux/dev", json!({"nothing": true})).await;
    let err = model
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlazenError::InvalidResponse { .. }),
        "{err:?}"
    );
}

#[tokio::test]
#[ignore = "live: needs FAL_KEY and network (spends credits)"]
async fn live_fal_image() {
    let out = ComputeModel::fal_from_env()
        .expect("FAL_KEY")
        .generate_image(
            ImageRequest::new("a red square")
                .size(256, 256)
                .model("fal-ai/flux/schnell"),
        )
        .await
        .unwrap();
    assert!(out.images[0].url.is_some());
}
