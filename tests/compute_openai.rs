//! OpenAI-style media through `ComputeModel`: xAI image generation and OpenAI speech from
//! recorded traffic (tests/fixtures/{xai,openai}), transcription (multipart upload) and the
//! jobs these providers do not offer, served from a local wiremock server.

#[allow(dead_code)]
#[path = "support/fixtures.rs"]
mod fixtures;

use blazen_providers::{
    BlazenError, ComputeModel, ImageRequest, MediaType, MusicRequest, SpeechRequest, ThreeDRequest,
    TranscriptionRequest, UpscaleRequest, VideoRequest,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(provider: &str, case: &str) -> Value {
    fixtures::json(&format!("{provider}/{case}.json"))
}

async fn sent_json(server: &MockServer) -> Value {
    serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap()
}

#[tokio::test]
async fn xai_image_generation_from_the_recording() {
    let f = fixture("xai", "image_generation__image_generation_smoke");
    let it = &f["interactions"][0];
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            it["response"]["body"].as_str().unwrap().as_bytes().to_vec(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let media = ComputeModel::xai("xai-test-key").with_base_url(format!("{}/v1", server.uri()));
    let out = media
        .generate_image(
            ImageRequest::new(
                "A lighthouse on a rocky cliff at sunrise, painted in a clean illustrative style.",
            )
            .model("grok-imagine-image-pro")
            .param("aspect_ratio", "4:3")
            .param("resolution", "2k")
            .param("response_format", "b64_json"),
        )
        .await
        .unwrap();
    assert_eq!(out.images.len(), 1);
    assert_eq!(
        out.images[0].data.as_deref(),
        Some(&b"hello"[..]),
        "b64_json decoded to bytes"
    );
    assert_eq!(out.images[0].media_type, Some(MediaType::PNG));
    assert_eq!(out.images[0].file_size, Some(5));
    assert_eq!(out.job.provider, "xai");
    assert_eq!(out.job.model, "grok-imagine-image-pro");
    assert!(
        out.job.raw["data"][0].get("b64_json").is_none(),
        "no second copy of the bytes"
    );
    assert!(out.job.timing.total_ms.is_some());
    let recorded: Value = serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent_json(&server).await,
        recorded,
        "the request is the recorded one"
    );
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        req.headers.get("authorization").unwrap(),
        "Bearer xai-test-key"
    );
}

#[tokio::test]
async fn openai_image_urls_and_sizes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"created": 1, "data": [{"url": "https://cdn.example/a.webp"}, {"url": "https://cdn.example/b.webp"}]})))
        .mount(&server)
        .await;
    let media = ComputeModel::openai("sk-test").with_base_url(format!("{}/v1", server.uri()));
    let out = media
        .generate_image(
            ImageRequest::new("a cat")
                .size(1024, 1536)
                .num_images(2)
                .negative_prompt("dogs"),
        )
        .await
        .unwrap();
    assert_eq!(out.images.len(), 2);
    assert_eq!(
        out.images[1].url.as_deref(),
        Some("https://cdn.example/b.webp")
    );
    assert_eq!(out.images[1].media_type, Some(MediaType::WEBP));
    let body = sent_json(&server).await;
    assert_eq!(body["size"], "1024x1536");
    assert_eq!(body["n"], 2);
    assert_eq!(body["model"], "gpt-image-1");
    assert!(body["prompt"].as_str().unwrap().contains("Avoid: dogs"));
}

#[tokio::test]
async fn openai_speech_from_the_recording_returns_the_audio_bytes() {
    let f = fixture("openai", "audio_params_matrix__default_body_returns_mp3");
    let it = &f["interactions"][0];
    let audio = fixtures::base64(it["response"]["body"].as_str().unwrap());
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/speech"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/mpeg"))
        .mount(&server)
        .await;
    let media = ComputeModel::openai("sk-test").with_base_url(format!("{}/v1", server.uri()));
    let out = media
        .speech(
            SpeechRequest::new("hello")
                .voice("alloy")
                .speed(1.0)
                .model("tts-1"),
        )
        .await
        .unwrap();
    assert_eq!(out.audio.data.as_deref(), Some(audio.as_slice()));
    assert_eq!(out.audio.media_type, Some(MediaType::MP3));
    assert_eq!(out.audio.file_size, Some(audio.len() as u64));
    let recorded: Value = serde_json::from_str(it["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent_json(&server).await,
        recorded,
        "the request is the recorded one"
    );
}

#[tokio::test]
async fn transcription_uploads_the_audio_as_multipart() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/clips/hello.wav"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"RIFF-fake-wav".to_vec(), "audio/wav"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "text": "hi there", "language": "english", "duration": 1.5,
            "segments": [{"id": 0, "start": 0.0, "end": 1.5, "text": "hi there"}]
        })))
        .mount(&server)
        .await;
    let media = ComputeModel::openai("sk-test").with_base_url(format!("{}/v1", server.uri()));
    let out = media
        .transcribe(
            TranscriptionRequest::new(format!("{}/clips/hello.wav", server.uri())).language("en"),
        )
        .await
        .unwrap();
    assert_eq!(out.text, "hi there");
    assert_eq!(out.duration_seconds, Some(1.5));
    assert_eq!(out.segments[0].end, Some(1.5));
    assert_eq!(out.language.as_deref(), Some("english"));

    let reqs = server.received_requests().await.unwrap();
    let download = reqs.iter().find(|r| r.method.as_str() == "GET").unwrap();
    assert!(
        download.headers.get("authorization").is_none(),
        "the key is not sent to the audio host"
    );
    let upload = reqs.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(
        upload.headers.get("authorization").unwrap(),
        "Bearer sk-test"
    );
    assert!(upload
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("multipart/form-data"));
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains("name=\"file\"; filename=\"hello.wav\""),
        "{body}"
    );
    assert!(body.contains("RIFF-fake-wav"));
    assert!(body.contains("name=\"model\"\r\n\r\nwhisper-1"));
    assert!(body.contains("name=\"language\"\r\n\r\nen"));
    assert!(body.contains("name=\"response_format\"\r\n\r\nverbose_json"));
}

#[tokio::test]
async fn diarized_transcription_of_a_data_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "text": "A: hi. B: hello.",
            "segments": [{"speaker": "A", "start": 0.0, "end": 0.5, "text": "hi."}, {"speaker": "B", "start": 0.6, "end": 1.0, "text": "hello."}]
        })))
        .mount(&server)
        .await;
    let media = ComputeModel::openai("sk-test").with_base_url(format!("{}/v1", server.uri()));
    let out = media
        .transcribe(TranscriptionRequest::new("data:audio/mpeg;base64,aGVsbG8=").diarize(true))
        .await
        .unwrap();
    assert_eq!(out.segments[1].speaker.as_deref(), Some("B"));
    let body =
        String::from_utf8_lossy(&server.received_requests().await.unwrap()[0].body).into_owned();
    assert!(body.contains("gpt-4o-transcribe-diarize"));
    assert!(body.contains("diarized_json"));
    assert!(body.contains("hello"), "decoded audio bytes are uploaded");
}

#[tokio::test]
async fn jobs_the_provider_lacks_are_unsupported_and_send_nothing() {
    let server = MockServer::start().await;
    let media = ComputeModel::openai("sk-test").with_base_url(server.uri());
    for err in [
        media
            .generate_video(VideoRequest::new("x"))
            .await
            .unwrap_err(),
        media.music(MusicRequest::new("x")).await.unwrap_err(),
        media
            .upscale(UpscaleRequest::new("https://x/a.png", 2.0))
            .await
            .unwrap_err(),
        media
            .generate_3d(ThreeDRequest::from_prompt("x"))
            .await
            .unwrap_err(),
        media
            .speech(SpeechRequest::new("x").voice_url("https://x/v.wav"))
            .await
            .unwrap_err(),
        ComputeModel::xai("k")
            .with_base_url(server.uri())
            .speech(SpeechRequest::new("x"))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, BlazenError::Unsupported { .. }), "{err:?}");
        assert!(err.to_string().starts_with("unsupported"), "{err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn provider_errors_keep_their_category() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "Your request was rejected as a result of our safety system.", "type": "image_generation_user_error", "code": "content_policy_violation", "param": null}})),
        )
        .mount(&server)
        .await;
    let media = ComputeModel::openai("sk-test").with_base_url(server.uri());
    let err = media
        .generate_image(ImageRequest::new("x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("content_policy_violation"));
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
}

#[tokio::test]
#[ignore = "live: needs OPENAI_API_KEY and network (spends credits)"]
async fn live_openai_speech() {
    let out = ComputeModel::openai_from_env()
        .expect("OPENAI_API_KEY")
        .speech(SpeechRequest::new("hello"))
        .await
        .unwrap();
    assert!(out.audio.data.map_or(0, |d| d.len()) > 0);
}
