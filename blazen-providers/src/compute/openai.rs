//! OpenAI media endpoints as a compute backend: images (`/images/generations`), speech
//! (`/audio/speech`) and transcription (`/audio/transcriptions`). Each request is answered
//! synchronously and runs as a spawned job (cancellable). The same backend serves
//! OpenAI-compatible image APIs (xAI).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine as _;
use futures::FutureExt;
use reqwest::Client;
use serde_json::{Map, Value};

use super::{
    with_total, AudioOutput, ComputeBackend, ComputeJob, ComputeModel, ComputeOutput,
    ComputeRequest, GeneratedMedia, ImageOutput, JobInfo, PollConfig, TranscriptSegment,
    TranscriptionOutput,
};
use crate::error::{BlazenError, Result};
use crate::http::{self, ApiKey, Auth};
use crate::types::{MediaType, RequestTiming};

/// OpenAI's transcription endpoint refuses files above 25 MB.
const MAX_AUDIO_BYTES: usize = 25 * 1024 * 1024;

/// Which OpenAI-style media API this is: its name, base URL and the jobs it offers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaProfile {
    name: &'static str,
    base_url: &'static str,
    image_model: &'static str,
    /// Models for speech and transcription, when the provider has them.
    speech_model: Option<&'static str>,
    transcription_model: Option<&'static str>,
}

const OPENAI: MediaProfile = MediaProfile {
    name: "openai",
    base_url: "https://api.openai.com/v1",
    image_model: "gpt-image-1",
    speech_model: Some("gpt-4o-mini-tts"),
    transcription_model: Some("whisper-1"),
};

const XAI: MediaProfile = MediaProfile {
    name: "xai",
    base_url: "https://api.x.ai/v1",
    image_model: "grok-2-image",
    speech_model: None,
    transcription_model: None,
};

/// The OpenAI media backend.
#[derive(Debug, Clone)]
pub(crate) struct OpenAiMedia {
    profile: MediaProfile,
    client: http::HttpClient,
    auth: Auth,
    base_url: String,
}

impl OpenAiMedia {
    fn new(profile: MediaProfile, key: impl Into<String>) -> Self {
        Self {
            profile,
            client: http::HttpClient::new(),
            auth: Auth::Bearer(ApiKey::new(key.into())),
            base_url: profile.base_url.to_owned(),
        }
    }

    fn unsupported(&self, what: &str) -> BlazenError {
        BlazenError::unsupported(format!(
            "{} has no {what} endpoint; use ComputeModel::fal for {what}",
            self.profile.name
        ))
    }

    fn job_info(&self, model: &str, started: Instant, raw: Value) -> JobInfo {
        JobInfo {
            id: None,
            provider: self.profile.name.to_owned(),
            model: model.to_owned(),
            timing: RequestTiming {
                total_ms: Some(http::elapsed_ms(started)),
                ..RequestTiming::default()
            },
            raw,
        }
    }

    async fn post_json(&self, path: &str, body: &Value) -> Result<reqwest::Response> {
        let bytes = crate::http::json_body(body)?;
        http::post_json(
            &self.client,
            self.profile.name,
            &format!("{}/{path}", self.base_url),
            &self.auth,
            &[],
            bytes,
        )
        .await
    }

    async fn image(self, req: super::ImageRequest) -> Result<ComputeOutput> {
        let started = Instant::now();
        let model = req
            .model
            .clone()
            .unwrap_or_else(|| self.profile.image_model.to_owned());
        let prompt = match &req.negative_prompt {
            Some(neg) => format!("{}\n\nAvoid: {neg}", req.prompt),
            None => req.prompt.clone(),
        };
        let mut body = Map::new();
        body.insert("model".into(), model.clone().into());
        body.insert("prompt".into(), prompt.into());
        if let Some(n) = req.num_images {
            body.insert("n".into(), n.into());
        }
        if let (Some(w), Some(h)) = (req.width, req.height) {
            body.insert("size".into(), format!("{w}x{h}").into());
        }
        for (k, v) in &req.parameters {
            body.insert(k.clone(), v.clone());
        }
        let body = Value::Object(body);
        let response = self.post_json("images/generations", &body).await?;
        let raw = read_json(self.profile.name, response).await?;
        let format = body
            .get("output_format")
            .and_then(Value::as_str)
            .map(|f| MediaType::new(format!("image/{}", if f == "jpg" { "jpeg" } else { f })));
        let items = raw
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut images = Vec::with_capacity(items.len());
        for item in &items {
            let media_type = item
                .get("mime_type")
                .and_then(Value::as_str)
                .map(|m| MediaType::new(m.to_owned()))
                .or_else(|| format.clone());
            if let Some(b64) = item.get("b64_json").and_then(Value::as_str) {
                let data = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| {
                        BlazenError::invalid_response(
                            self.profile.name,
                            format!("bad base64 image: {e}"),
                            b64,
                        )
                    })?;
                images.push(GeneratedMedia::from_bytes(
                    data,
                    media_type.or(Some(MediaType::PNG)),
                ));
            } else if let Some(url) = item.get("url").and_then(Value::as_str) {
                let mut m = GeneratedMedia::from_url(url);
                m.media_type = media_type.or_else(|| super::media_type_from_extension(url));
                images.push(m);
            }
        }
        if images.is_empty() {
            return Err(BlazenError::invalid_response(
                self.profile.name,
                "the answer has no image",
                raw.to_string(),
            ));
        }
        let mut raw = raw;
        // The bytes are in `images`; do not keep a second (base64) copy in `raw`.
        if let Some(Value::Array(items)) = raw.get_mut("data") {
            for item in items {
                if let Some(obj) = item.as_object_mut() {
                    obj.remove("b64_json");
                }
            }
        }
        Ok(ComputeOutput::Image(ImageOutput {
            images,
            job: self.job_info(&model, started, raw),
        }))
    }

    async fn speech(self, req: super::SpeechRequest) -> Result<ComputeOutput> {
        let started = Instant::now();
        let Some(default_model) = self.profile.speech_model else {
            return Err(self.unsupported("speech"));
        };
        if req.voice_url.is_some() {
            return Err(BlazenError::unsupported(format!(
                "{} speech has no voice cloning (voice_url); use ComputeModel::fal",
                self.profile.name
            )));
        }
        let model = req
            .model
            .clone()
            .unwrap_or_else(|| default_model.to_owned());
        let mut body = Map::new();
        body.insert("model".into(), model.clone().into());
        body.insert("input".into(), req.text.clone().into());
        body.insert(
            "voice".into(),
            req.voice
                .clone()
                .unwrap_or_else(|| "alloy".to_owned())
                .into(),
        );
        if let Some(speed) = req.speed {
            body.insert("speed".into(), speed.into());
        }
        for (k, v) in &req.parameters {
            body.insert(k.clone(), v.clone());
        }
        let format = body
            .get("response_format")
            .and_then(Value::as_str)
            .unwrap_or("mp3")
            .to_owned();
        let response = self.post_json("audio/speech", &Value::Object(body)).await?;
        let media_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_owned())
            .filter(|s| s.starts_with("audio/"))
            .map(MediaType::new)
            .or_else(|| super::media_type_from_extension(&format!("x.{format}")));
        let bytes = http::read_body(self.profile.name, response).await?;
        if bytes.is_empty() {
            return Err(BlazenError::no_content(self.profile.name));
        }
        let audio = GeneratedMedia::from_bytes(bytes.to_vec(), media_type);
        Ok(ComputeOutput::Speech(AudioOutput {
            audio,
            job: self.job_info(&model, started, Value::Null),
        }))
    }

    async fn transcribe(self, req: super::TranscriptionRequest) -> Result<ComputeOutput> {
        let started = Instant::now();
        let Some(default_model) = self.profile.transcription_model else {
            return Err(self.unsupported("transcription"));
        };
        let diarize = req.diarize == Some(true);
        let model = req.model.clone().unwrap_or_else(|| {
            if diarize {
                "gpt-4o-transcribe-diarize"
            } else {
                default_model
            }
            .to_owned()
        });
        let (audio, file_name, mime) = fetch_audio(&self.client, &req.audio_url).await?;
        let response_format = if diarize {
            "diarized_json"
        } else if model == "whisper-1" {
            "verbose_json"
        } else {
            "json"
        };
        let part = reqwest::multipart::Part::bytes(audio)
            .file_name(file_name)
            .mime_str(&mime)
            .map_err(|e| BlazenError::invalid_media(format!("bad audio type {mime:?}: {e}")))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("model", model.clone())
            .text("response_format", response_format.to_owned());
        if diarize {
            form = form.text("chunking_strategy", "auto");
        }
        if let Some(lang) = &req.language {
            form = form.text("language", lang.clone());
        }
        for (k, v) in &req.parameters {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            form = form.text(k.clone(), text);
        }
        let url = format!("{}/audio/transcriptions", self.base_url);
        let builder = self
            .auth
            .apply(self.client.post(url).multipart(form), self.profile.name)?;
        let response = http::send(self.profile.name, builder).await?;
        let raw = read_json(self.profile.name, response).await?;
        let text = raw
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let segments = raw
            .get("segments")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|s| TranscriptSegment {
                        start: s.get("start").and_then(Value::as_f64),
                        end: s.get("end").and_then(Value::as_f64),
                        text: s
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        speaker: s.get("speaker").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let language = raw
            .get("language")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(req.language);
        let duration_seconds = raw.get("duration").and_then(Value::as_f64);
        Ok(ComputeOutput::Transcription(TranscriptionOutput {
            text,
            segments,
            language,
            duration_seconds,
            job: self.job_info(&model, started, raw),
        }))
    }
}

async fn read_json(provider: &str, response: reqwest::Response) -> Result<Value> {
    let body = http::read_body(provider, response).await?;
    serde_json::from_slice(&body).map_err(|e| {
        BlazenError::invalid_response(provider, format!("unexpected response: {e}"), &body)
    })
}

/// The audio to transcribe: decoded from a `data:` URL, or downloaded (without credentials).
async fn fetch_audio(client: &Client, url: &str) -> Result<(Vec<u8>, String, String)> {
    if let Some((mime, data)) = crate::native::parse_data_url(url) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| BlazenError::invalid_media(format!("bad base64 audio: {e}")))?;
        if bytes.len() > MAX_AUDIO_BYTES {
            return Err(BlazenError::too_large(
                bytes.len() as u64,
                MAX_AUDIO_BYTES as u64,
            ));
        }
        let ext = mime
            .rsplit('/')
            .next()
            .unwrap_or("mp3")
            .replace("mpeg", "mp3");
        return Ok((bytes, format!("audio.{ext}"), mime.to_owned()));
    }
    let response = http::send("audio download", client.get(url)).await?;
    if let Some(len) = response.content_length() {
        if len > MAX_AUDIO_BYTES as u64 {
            return Err(BlazenError::too_large(len, MAX_AUDIO_BYTES as u64));
        }
    }
    let header_mime = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or(s).trim().to_owned())
        .filter(|s| s.starts_with("audio/") || s.starts_with("video/"));
    let bytes = http::read_capped("audio download", response, MAX_AUDIO_BYTES + 1).await?;
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(BlazenError::too_large(
            bytes.len() as u64,
            MAX_AUDIO_BYTES as u64,
        ));
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .rsplit('/')
        .next()
        .filter(|n| n.contains('.'))
        .unwrap_or("audio.mp3")
        .to_owned();
    let mime = header_mime
        .or_else(|| super::media_type_from_extension(&name).map(|m| m.as_str().to_owned()))
        .unwrap_or_else(|| "audio/mpeg".to_owned());
    Ok((bytes.to_vec(), name, mime))
}

#[async_trait]
impl ComputeBackend for OpenAiMedia {
    fn name(&self) -> &'static str {
        self.profile.name
    }

    async fn submit(&self, request: ComputeRequest, poll: PollConfig) -> Result<ComputeJob> {
        let this = self.clone();
        let kind = request.kind();
        let started = Instant::now();
        let fut = match request {
            ComputeRequest::Image(r) => this.image(r).boxed(),
            ComputeRequest::Speech(r) => {
                if self.profile.speech_model.is_none() {
                    return Err(self.unsupported("speech"));
                }
                this.speech(r).boxed()
            }
            ComputeRequest::Transcription(r) => {
                if self.profile.transcription_model.is_none() {
                    return Err(self.unsupported("transcription"));
                }
                this.transcribe(r).boxed()
            }
            ComputeRequest::Upscale(_) => return Err(self.unsupported("upscale")),
            ComputeRequest::Video(_) => return Err(self.unsupported("video generation")),
            ComputeRequest::Music(_) => return Err(self.unsupported("music generation")),
            ComputeRequest::ThreeD(_) => return Err(self.unsupported("3D generation")),
        };
        let auth = self.auth.clone();
        let fut = async move {
            auth.scrub_result(fut.await)
                .map(|out| with_total(out, http::elapsed_ms(started)))
        }
        .boxed();
        Ok(ComputeJob::task(kind, self.profile.name, poll, fut))
    }

    fn with_base_url(&self, base_url: &str) -> Arc<dyn ComputeBackend> {
        Arc::new(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..self.clone()
        })
    }
}

impl ComputeModel {
    /// OpenAI's media endpoints: images (`gpt-image-1`), speech (`gpt-4o-mini-tts`) and
    /// transcription (`whisper-1`; `gpt-4o-transcribe-diarize` when diarizing). Upscale, video,
    /// music and 3D jobs return an Unsupported error.
    ///
    /// ```
    /// use blazen_providers::ComputeModel;
    /// let media = ComputeModel::openai("sk-secret");
    /// assert_eq!(media.provider_name(), "openai");
    /// assert!(!format!("{media:?}").contains("sk-secret"));
    /// ```
    pub fn openai(api_key: impl Into<String>) -> Self {
        Self::from_backend(OpenAiMedia::new(OPENAI, api_key))
    }

    /// [`ComputeModel::openai`] with the key from `OPENAI_API_KEY`.
    ///
    /// # Errors
    /// [`BlazenError`] Validation when the variable is unset.
    pub fn openai_from_env() -> Result<Self> {
        crate::native::env_var("OPENAI_API_KEY").map(Self::openai)
    }

    /// xAI's image generation (`grok-2-image`), through the OpenAI-style images API. Other
    /// jobs return an Unsupported error.
    ///
    /// ```
    /// use blazen_providers::ComputeModel;
    /// assert_eq!(ComputeModel::xai("xai-secret").provider_name(), "xai");
    /// ```
    pub fn xai(api_key: impl Into<String>) -> Self {
        Self::from_backend(OpenAiMedia::new(XAI, api_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_jobs_are_named() {
        let m = OpenAiMedia::new(OPENAI, "k");
        let e = m.unsupported("video generation");
        assert!(e.to_string().contains("video generation"), "{e}");
    }
}
