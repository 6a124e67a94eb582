//! fal model inputs and outputs for each media job: the default endpoint of each job kind, the
//! request as the endpoint's input JSON, and the endpoint's result as typed media.

use serde_json::{json, Map, Value};

use crate::compute::{
    media_type_from_extension, AudioOutput, ComputeOutput, ComputeRequest, GeneratedMedia,
    ImageOutput, JobInfo, ThreeDOutput, TranscriptSegment, TranscriptionOutput, VideoOutput,
};
use crate::error::{BlazenError, Result};
use crate::types::MediaType;

use super::PROVIDER;

/// Default fal endpoints per job kind.
pub(crate) mod defaults {
    /// Text to image.
    pub(crate) const IMAGE: &str = "fal-ai/flux/dev";
    /// Image upscaling.
    pub(crate) const UPSCALE: &str = "fal-ai/esrgan";
    /// Text to video.
    pub(crate) const TEXT_TO_VIDEO: &str = "fal-ai/kling-video/v2.1/master/text-to-video";
    /// Image to video.
    pub(crate) const IMAGE_TO_VIDEO: &str = "fal-ai/kling-video/v2.1/master/image-to-video";
    /// Text to speech with a preset voice.
    pub(crate) const SPEECH: &str = "fal-ai/kokoro/american-english";
    /// Text to speech cloning a voice sample.
    pub(crate) const VOICE_CLONE: &str = "fal-ai/f5-tts";
    /// Text to music.
    pub(crate) const MUSIC: &str = "fal-ai/stable-audio";
    /// Speech to text.
    pub(crate) const TRANSCRIPTION: &str = "fal-ai/whisper";
    /// Text to 3D.
    pub(crate) const TEXT_TO_3D: &str = "tripo3d/tripo/v2.5/text-to-3d";
    /// Image to 3D.
    pub(crate) const IMAGE_TO_3D: &str = "fal-ai/trellis";
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// The endpoint and input JSON of a request.
pub(crate) fn to_input(req: &ComputeRequest) -> (String, Value) {
    let mut m = Map::new();
    let endpoint = match req {
        ComputeRequest::Image(r) => {
            m.insert("prompt".into(), r.prompt.clone().into());
            put(&mut m, "negative_prompt", r.negative_prompt.clone());
            if let (Some(w), Some(h)) = (r.width, r.height) {
                m.insert("image_size".into(), json!({"width": w, "height": h}));
            }
            put(&mut m, "num_images", r.num_images);
            r.model
                .clone()
                .unwrap_or_else(|| defaults::IMAGE.to_owned())
        }
        ComputeRequest::Upscale(r) => {
            m.insert("image_url".into(), r.image_url.clone().into());
            m.insert("scale".into(), r.scale.into());
            r.model
                .clone()
                .unwrap_or_else(|| defaults::UPSCALE.to_owned())
        }
        ComputeRequest::Video(r) => {
            m.insert("prompt".into(), r.prompt.clone().into());
            put(&mut m, "image_url", r.image_url.clone());
            put(&mut m, "negative_prompt", r.negative_prompt.clone());
            // Kling takes whole seconds as a string ("5" or "10").
            put(
                &mut m,
                "duration",
                r.duration_seconds
                    .map(|d| format!("{}", d.round().max(1.0))),
            );
            if let (Some(w), Some(h)) = (r.width, r.height) {
                m.insert("aspect_ratio".into(), aspect_ratio(w, h).into());
            }
            r.model.clone().unwrap_or_else(|| {
                if r.image_url.is_some() {
                    defaults::IMAGE_TO_VIDEO
                } else {
                    defaults::TEXT_TO_VIDEO
                }
                .to_owned()
            })
        }
        ComputeRequest::Speech(r) => {
            if let Some(url) = &r.voice_url {
                m.insert("gen_text".into(), r.text.clone().into());
                m.insert("ref_audio_url".into(), url.clone().into());
                r.model
                    .clone()
                    .unwrap_or_else(|| defaults::VOICE_CLONE.to_owned())
            } else {
                m.insert("prompt".into(), r.text.clone().into());
                put(&mut m, "voice", r.voice.clone());
                put(&mut m, "speed", r.speed);
                put(&mut m, "language", r.language.clone());
                r.model
                    .clone()
                    .unwrap_or_else(|| defaults::SPEECH.to_owned())
            }
        }
        ComputeRequest::Music(r) => {
            m.insert("prompt".into(), r.prompt.clone().into());
            put(&mut m, "seconds_total", r.duration_seconds);
            r.model
                .clone()
                .unwrap_or_else(|| defaults::MUSIC.to_owned())
        }
        ComputeRequest::Transcription(r) => {
            m.insert("audio_url".into(), r.audio_url.clone().into());
            m.insert("task".into(), "transcribe".into());
            m.insert("chunk_level".into(), "segment".into());
            put(&mut m, "language", r.language.clone());
            put(&mut m, "diarize", r.diarize);
            r.model
                .clone()
                .unwrap_or_else(|| defaults::TRANSCRIPTION.to_owned())
        }
        ComputeRequest::ThreeD(r) => {
            put(&mut m, "prompt", r.prompt.clone());
            put(&mut m, "image_url", r.image_url.clone());
            put(&mut m, "output_format", r.format.clone());
            r.model.clone().unwrap_or_else(|| {
                if r.image_url.is_some() {
                    defaults::IMAGE_TO_3D
                } else {
                    defaults::TEXT_TO_3D
                }
                .to_owned()
            })
        }
    };
    for (k, v) in req.parameters() {
        m.insert(k.clone(), v.clone());
    }
    (endpoint, Value::Object(m))
}

fn aspect_ratio(w: u32, h: u32) -> String {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(w, h).max(1);
    format!("{}:{}", w / g, h / g)
}

fn as_u32(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// A fal `File` / `Image` object (`{url, content_type, file_size, width, height, ...}`) or a
/// bare URL string.
pub(crate) fn media(v: &Value) -> Option<GeneratedMedia> {
    let (url, obj) = match v {
        Value::String(s) => (s.clone(), None),
        Value::Object(o) => (o.get("url")?.as_str()?.to_owned(), Some(o)),
        _ => return None,
    };
    let mut m = GeneratedMedia::from_url(url.clone());
    if let Some(o) = obj {
        m.media_type = o
            .get("content_type")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && *s != "application/octet-stream")
            .map(|s| MediaType::new(s.to_owned()));
        m.width = as_u32(o.get("width"));
        m.height = as_u32(o.get("height"));
        m.file_size = o.get("file_size").and_then(Value::as_u64);
        m.duration_seconds = o.get("duration").and_then(Value::as_f64);
    }
    if m.media_type.is_none() {
        m.media_type = media_type_from_extension(&url);
    }
    Some(m)
}

/// The first media object found under any of `keys`.
fn first_media(result: &Value, keys: &[&str]) -> Option<GeneratedMedia> {
    keys.iter().find_map(|k| match result.get(*k)? {
        Value::Array(items) => items.iter().find_map(media),
        other => media(other),
    })
}

fn missing(kind: &str, raw: &Value) -> BlazenError {
    BlazenError::invalid_response(
        PROVIDER,
        format!("the {kind} result has no output file"),
        raw.to_string(),
    )
}

/// Parses an endpoint's result into the output of the request's kind.
pub(crate) fn from_result(req_kind: &str, job: JobInfo, result: Value) -> Result<ComputeOutput> {
    let mut job = job;
    let out = match req_kind {
        "image" | "upscale" => {
            let mut images: Vec<GeneratedMedia> = match result.get("images") {
                Some(Value::Array(items)) => items.iter().filter_map(media).collect(),
                _ => Vec::new(),
            };
            if images.is_empty() {
                images.extend(first_media(&result, &["image", "output"]));
            }
            if images.is_empty() {
                return Err(missing(req_kind, &result));
            }
            job.raw = result;
            let out = ImageOutput { images, job };
            if req_kind == "image" {
                ComputeOutput::Image(out)
            } else {
                ComputeOutput::Upscale(out)
            }
        }
        "video" => {
            let video = first_media(&result, &["video", "videos", "output"])
                .ok_or_else(|| missing("video", &result))?;
            job.raw = result;
            ComputeOutput::Video(VideoOutput { video, job })
        }
        "speech" | "music" => {
            let mut audio = first_media(&result, &["audio", "audio_file", "audio_url", "output"])
                .ok_or_else(|| missing(req_kind, &result))?;
            if audio.duration_seconds.is_none() {
                audio.duration_seconds = result.get("duration").and_then(Value::as_f64);
            }
            job.raw = result;
            let out = AudioOutput { audio, job };
            if req_kind == "speech" {
                ComputeOutput::Speech(out)
            } else {
                ComputeOutput::Music(out)
            }
        }
        "transcription" => {
            let text = result
                .get("text")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    BlazenError::invalid_response(
                        PROVIDER,
                        "the transcription has no text",
                        result.to_string(),
                    )
                })?
                .to_owned();
            let segments = result
                .get("chunks")
                .or_else(|| result.get("segments"))
                .and_then(Value::as_array)
                .map(|items| items.iter().map(segment).collect())
                .unwrap_or_default();
            let language = result
                .get("inferred_languages")
                .and_then(Value::as_array)
                .and_then(|l| l.first())
                .or_else(|| result.get("language"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let duration_seconds = result.get("duration").and_then(Value::as_f64);
            job.raw = result;
            ComputeOutput::Transcription(TranscriptionOutput {
                text,
                segments,
                language,
                duration_seconds,
                job,
            })
        }
        "3d" => {
            let model = first_media(
                &result,
                &[
                    "model_mesh",
                    "model_glb",
                    "model_file",
                    "model",
                    "glb",
                    "output",
                ],
            )
            .ok_or_else(|| missing("3d", &result))?;
            job.raw = result;
            ComputeOutput::ThreeD(ThreeDOutput { model, job })
        }
        other => {
            return Err(BlazenError::unsupported(format!(
                "fal: unknown job kind {other}"
            )));
        }
    };
    Ok(out)
}

fn segment(v: &Value) -> TranscriptSegment {
    let (start, end) = match v.get("timestamp").and_then(Value::as_array) {
        Some(ts) => (
            ts.first().and_then(Value::as_f64),
            ts.get(1).and_then(Value::as_f64),
        ),
        None => (
            v.get("start").and_then(Value::as_f64),
            v.get("end").and_then(Value::as_f64),
        ),
    };
    TranscriptSegment {
        start,
        end,
        text: v
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        speaker: v.get("speaker").and_then(Value::as_str).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::{ImageRequest, VideoRequest};

    #[test]
    fn aspect_ratios_are_reduced() {
        assert_eq!(aspect_ratio(1920, 1080), "16:9");
        assert_eq!(aspect_ratio(1024, 1024), "1:1");
    }

    #[test]
    fn inputs_follow_the_request() {
        let (endpoint, input) = to_input(
            &ImageRequest::new("a cat")
                .model("fal-ai/flux/schnell")
                .into(),
        );
        assert_eq!(endpoint, "fal-ai/flux/schnell");
        assert_eq!(input, json!({"prompt": "a cat"}));
        let (endpoint, input) = to_input(&VideoRequest::new("waves").size(1280, 720).into());
        assert_eq!(endpoint, defaults::TEXT_TO_VIDEO);
        assert_eq!(input["aspect_ratio"], "16:9");
    }

    #[test]
    fn media_objects_and_bare_urls() {
        let m = media(&json!("https://x/a.mp3")).unwrap();
        assert_eq!(m.media_type, Some(MediaType::MP3));
        let m =
            media(&json!({"url": "https://x/file", "content_type": "application/octet-stream"}))
                .unwrap();
        assert_eq!(m.media_type, None);
        assert!(media(&json!({"no_url": 1})).is_none());
    }
}
