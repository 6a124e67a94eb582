//! Typed outputs of media jobs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{BlazenError, Result};
use crate::types::{MediaType, RequestTiming};

/// One generated file: hosted at a URL, or returned inline as bytes.
///
/// ```
/// use blazen_providers::{GeneratedMedia, MediaType};
/// let m = GeneratedMedia::from_url("https://cdn.example/cat.png").with_media_type(MediaType::PNG);
/// assert_eq!(m.media_type, Some(MediaType::PNG));
/// assert!(m.data.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GeneratedMedia {
    /// Where to download the file, when the provider hosts it.
    pub url: Option<String>,
    /// The file's bytes, when the provider returned them inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<u8>>,
    /// The MIME type, when known.
    pub media_type: Option<MediaType>,
    /// Width in pixels (images, videos), when given.
    pub width: Option<u32>,
    /// Height in pixels (images, videos), when given.
    pub height: Option<u32>,
    /// Size in bytes, when given.
    pub file_size: Option<u64>,
    /// Duration in seconds (audio, video), when given.
    pub duration_seconds: Option<f64>,
}

impl GeneratedMedia {
    /// A file hosted at `url`.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// A file returned inline.
    pub fn from_bytes(data: Vec<u8>, media_type: Option<MediaType>) -> Self {
        let size = u64::try_from(data.len()).ok();
        Self {
            data: Some(data),
            media_type,
            file_size: size,
            ..Self::default()
        }
    }

    /// Sets the MIME type.
    #[must_use]
    pub fn with_media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = Some(media_type);
        self
    }
}

/// What every job output says about the job itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobInfo {
    /// The provider's job or request id, when it has one.
    pub id: Option<String>,
    /// The provider (`"fal"`, `"openai"`).
    pub provider: String,
    /// The model or endpoint that ran the job.
    pub model: String,
    /// Queue, execution and total time, where known.
    pub timing: RequestTiming,
    /// The provider's raw result (JSON; `null` for binary answers).
    pub raw: Value,
}

/// Generated or upscaled images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageOutput {
    /// The images, in the provider's order.
    pub images: Vec<GeneratedMedia>,
    /// About the job.
    pub job: JobInfo,
}

/// A generated video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoOutput {
    /// The video.
    pub video: GeneratedMedia,
    /// About the job.
    pub job: JobInfo,
}

/// Generated audio (speech or music).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AudioOutput {
    /// The audio file.
    pub audio: GeneratedMedia,
    /// About the job.
    pub job: JobInfo,
}

/// One timed piece of a transcript.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptSegment {
    /// Start, in seconds.
    pub start: Option<f64>,
    /// End, in seconds.
    pub end: Option<f64>,
    /// The text.
    pub text: String,
    /// The speaker label, when diarized.
    pub speaker: Option<String>,
}

/// A transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptionOutput {
    /// The whole text.
    pub text: String,
    /// Timed segments, when the provider gives them.
    pub segments: Vec<TranscriptSegment>,
    /// The detected or requested language.
    pub language: Option<String>,
    /// Duration of the audio in seconds, when given.
    pub duration_seconds: Option<f64>,
    /// About the job.
    pub job: JobInfo,
}

/// A generated 3D model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreeDOutput {
    /// The model file (GLB, OBJ, USDZ, ...).
    pub model: GeneratedMedia,
    /// About the job.
    pub job: JobInfo,
}

/// The output of any media job (see [`ComputeJob::wait`](crate::ComputeJob::wait)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComputeOutput {
    /// Generated images.
    Image(ImageOutput),
    /// Upscaled image(s).
    Upscale(ImageOutput),
    /// A video.
    Video(VideoOutput),
    /// Speech audio.
    Speech(AudioOutput),
    /// Music or sound.
    Music(AudioOutput),
    /// A transcript.
    Transcription(TranscriptionOutput),
    /// A 3D model.
    ThreeD(ThreeDOutput),
}

impl ComputeOutput {
    /// About the job.
    pub fn job(&self) -> &JobInfo {
        match self {
            Self::Image(o) | Self::Upscale(o) => &o.job,
            Self::Video(o) => &o.job,
            Self::Speech(o) | Self::Music(o) => &o.job,
            Self::Transcription(o) => &o.job,
            Self::ThreeD(o) => &o.job,
        }
    }
}

fn wrong_kind(expected: &str, got: &ComputeOutput) -> BlazenError {
    let got = match got {
        ComputeOutput::Image(_) => "image",
        ComputeOutput::Upscale(_) => "upscale",
        ComputeOutput::Video(_) => "video",
        ComputeOutput::Speech(_) => "speech",
        ComputeOutput::Music(_) => "music",
        ComputeOutput::Transcription(_) => "transcription",
        ComputeOutput::ThreeD(_) => "3d",
    };
    BlazenError::invalid_response("", format!("expected a {expected} output, got {got}"), "")
}

impl ComputeOutput {
    pub(crate) fn into_images(self) -> Result<ImageOutput> {
        match self {
            Self::Image(o) | Self::Upscale(o) => Ok(o),
            other => Err(wrong_kind("image", &other)),
        }
    }

    pub(crate) fn into_video(self) -> Result<VideoOutput> {
        match self {
            Self::Video(o) => Ok(o),
            other => Err(wrong_kind("video", &other)),
        }
    }

    pub(crate) fn into_audio(self) -> Result<AudioOutput> {
        match self {
            Self::Speech(o) | Self::Music(o) => Ok(o),
            other => Err(wrong_kind("audio", &other)),
        }
    }

    pub(crate) fn into_transcription(self) -> Result<TranscriptionOutput> {
        match self {
            Self::Transcription(o) => Ok(o),
            other => Err(wrong_kind("transcription", &other)),
        }
    }

    pub(crate) fn into_three_d(self) -> Result<ThreeDOutput> {
        match self {
            Self::ThreeD(o) => Ok(o),
            other => Err(wrong_kind("3d", &other)),
        }
    }
}

/// The MIME type of a file name or URL's extension, for the media types of the seed.
pub(crate) fn media_type_from_extension(url: &str) -> Option<MediaType> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = name.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => MediaType::PNG,
        "jpg" | "jpeg" => MediaType::JPEG,
        "webp" => MediaType::WEBP,
        "gif" => MediaType::GIF,
        "svg" => MediaType::SVG,
        "bmp" => MediaType::BMP,
        "tif" | "tiff" => MediaType::TIFF,
        "avif" => MediaType::AVIF,
        "mp4" => MediaType::MP4,
        "webm" => MediaType::WEBM,
        "mov" => MediaType::MOV,
        "mp3" => MediaType::MP3,
        "wav" => MediaType::WAV,
        "ogg" => MediaType::OGG,
        "flac" => MediaType::FLAC,
        "aac" => MediaType::AAC,
        "m4a" => MediaType::M4A,
        "glb" => MediaType::GLB,
        "gltf" => MediaType::GLTF,
        "obj" => MediaType::OBJ,
        "usdz" => MediaType::USDZ,
        "fbx" => MediaType::FBX,
        "stl" => MediaType::STL,
        "pdf" => MediaType::PDF,
        _ => return None,
    })
}
