//! The media job requests of the seed, with keyword-style builders and validation.
//!
//! Every request carries the seed's fields, an optional `model` (provider-specific endpoint or
//! model name) and free-form extra `parameters` merged into the provider's input as they are.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::BlazenError;

fn require_text(field: &str, value: &str) -> Result<(), BlazenError> {
    if value.trim().is_empty() {
        return Err(BlazenError::validation(format!(
            "{field} must not be empty"
        )));
    }
    Ok(())
}

fn require_positive_dim(field: &str, value: Option<u32>) -> Result<(), BlazenError> {
    if value == Some(0) {
        return Err(BlazenError::validation(format!("{field} must be > 0")));
    }
    Ok(())
}

fn require_positive_f64(field: &str, value: Option<f64>) -> Result<(), BlazenError> {
    if let Some(v) = value {
        if !v.is_finite() || v <= 0.0 {
            return Err(BlazenError::validation(format!(
                "{field} must be a positive number, got {v}"
            )));
        }
    }
    Ok(())
}

fn require_url(field: &str, value: &str) -> Result<(), BlazenError> {
    require_text(field, value)?;
    let ok =
        value.starts_with("https://") || value.starts_with("http://") || value.starts_with("data:");
    if !ok {
        return Err(BlazenError::validation(format!(
            "{field} must be an http(s) or data: URL, got {value:?}"
        )));
    }
    Ok(())
}

macro_rules! common_builders {
    () => {
        /// Use a specific model or endpoint (provider-dependent), instead of the default.
        #[must_use]
        pub fn model(mut self, model: impl Into<String>) -> Self {
            self.model = Some(model.into());
            self
        }

        /// Add a provider-specific input parameter, sent as is (it overrides a field of the
        /// same name that blazen would send).
        #[must_use]
        pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
            self.parameters.insert(key.into(), value.into());
            self
        }
    };
}

/// Generate images from a text prompt.
///
/// ```
/// use blazen_providers::ImageRequest;
/// let req = ImageRequest::new("a cat in space").size(1024, 1024).num_images(2);
/// assert_eq!(req.width, Some(1024));
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageRequest {
    /// Text description of the image to generate.
    pub prompt: String,
    /// What to avoid in the generated image.
    pub negative_prompt: Option<String>,
    /// Image width in pixels.
    pub width: Option<u32>,
    /// Image height in pixels.
    pub height: Option<u32>,
    /// Number of images to generate.
    pub num_images: Option<u32>,
    /// Specific model to use (provider-dependent).
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl ImageRequest {
    /// A request for images of `prompt`, every other field unset.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            negative_prompt: None,
            width: None,
            height: None,
            num_images: None,
            model: None,
            parameters: Map::new(),
        }
    }

    /// What to avoid in the image.
    #[must_use]
    pub fn negative_prompt(mut self, text: impl Into<String>) -> Self {
        self.negative_prompt = Some(text.into());
        self
    }

    /// Width and height in pixels.
    #[must_use]
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(mut self, width: u32) -> Self {
        self.width = Some(width);
        self
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(mut self, height: u32) -> Self {
        self.height = Some(height);
        self
    }

    /// Number of images.
    #[must_use]
    pub fn num_images(mut self, n: u32) -> Self {
        self.num_images = Some(n);
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for an empty prompt, a zero size or a zero image count.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_text("prompt", &self.prompt)?;
        require_positive_dim("width", self.width)?;
        require_positive_dim("height", self.height)?;
        if self.num_images == Some(0) {
            return Err(BlazenError::validation("num_images must be >= 1"));
        }
        Ok(())
    }
}

/// Upscale an existing image to a higher resolution.
///
/// ```
/// use blazen_providers::UpscaleRequest;
/// let req = UpscaleRequest::new("https://example.com/photo.jpg", 4.0);
/// assert!(req.validate().is_ok());
/// assert!(UpscaleRequest::new("https://example.com/p.jpg", 0.0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpscaleRequest {
    /// URL of the image to upscale.
    pub image_url: String,
    /// Upscale factor (e.g. 2.0, 4.0).
    pub scale: f64,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl UpscaleRequest {
    /// Upscale the image at `image_url` by `scale`.
    pub fn new(image_url: impl Into<String>, scale: f64) -> Self {
        Self {
            image_url: image_url.into(),
            scale,
            model: None,
            parameters: Map::new(),
        }
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for a bad URL or a scale that is not a number > 1.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_url("image_url", &self.image_url)?;
        if !self.scale.is_finite() || self.scale <= 1.0 {
            return Err(BlazenError::validation(format!(
                "scale must be a number > 1, got {}",
                self.scale
            )));
        }
        Ok(())
    }
}

/// Generate a video from a text prompt, optionally with an input image.
///
/// ```
/// use blazen_providers::VideoRequest;
/// let req = VideoRequest::new("a sunset timelapse").duration_seconds(5.0);
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoRequest {
    /// Text description of the video to generate.
    pub prompt: String,
    /// Optional starting image to animate.
    pub image_url: Option<String>,
    /// Desired video length in seconds.
    pub duration_seconds: Option<f64>,
    /// What to avoid in the generated video.
    pub negative_prompt: Option<String>,
    /// Video width in pixels.
    pub width: Option<u32>,
    /// Video height in pixels.
    pub height: Option<u32>,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl VideoRequest {
    /// A video of `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            image_url: None,
            duration_seconds: None,
            negative_prompt: None,
            width: None,
            height: None,
            model: None,
            parameters: Map::new(),
        }
    }

    /// Animate this starting image.
    #[must_use]
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.image_url = Some(url.into());
        self
    }

    /// Desired length in seconds.
    #[must_use]
    pub fn duration_seconds(mut self, seconds: f64) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    /// What to avoid in the video.
    #[must_use]
    pub fn negative_prompt(mut self, text: impl Into<String>) -> Self {
        self.negative_prompt = Some(text.into());
        self
    }

    /// Width and height in pixels.
    #[must_use]
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for an empty prompt, a bad image URL, a non-positive duration or
    /// a zero size.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_text("prompt", &self.prompt)?;
        if let Some(url) = &self.image_url {
            require_url("image_url", url)?;
        }
        require_positive_f64("duration_seconds", self.duration_seconds)?;
        require_positive_dim("width", self.width)?;
        require_positive_dim("height", self.height)
    }
}

/// Generate speech audio from text.
///
/// ```
/// use blazen_providers::SpeechRequest;
/// let req = SpeechRequest::new("Hello world").voice("alloy").speed(1.2);
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpeechRequest {
    /// The text to convert to speech.
    pub text: String,
    /// Voice preset name (e.g. "alloy", "nova").
    pub voice: Option<String>,
    /// URL to a custom voice sample for cloning.
    pub voice_url: Option<String>,
    /// Language code (e.g. "en", "fr").
    pub language: Option<String>,
    /// Playback speed multiplier (e.g. 1.2 for 20% faster).
    pub speed: Option<f64>,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl SpeechRequest {
    /// Speak `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            voice: None,
            voice_url: None,
            language: None,
            speed: None,
            model: None,
            parameters: Map::new(),
        }
    }

    /// Voice preset name.
    #[must_use]
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// A voice sample to clone.
    #[must_use]
    pub fn voice_url(mut self, url: impl Into<String>) -> Self {
        self.voice_url = Some(url.into());
        self
    }

    /// Language code.
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Playback speed multiplier.
    #[must_use]
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = Some(speed);
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for empty text, a bad voice URL or a non-positive speed.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_text("text", &self.text)?;
        if let Some(url) = &self.voice_url {
            require_url("voice_url", url)?;
        }
        require_positive_f64("speed", self.speed)
    }
}

/// Generate music or sound effects from a text prompt.
///
/// ```
/// use blazen_providers::MusicRequest;
/// assert!(MusicRequest::new("upbeat jazz").duration_seconds(30.0).validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MusicRequest {
    /// Description of the music to generate.
    pub prompt: String,
    /// Desired duration in seconds.
    pub duration_seconds: Option<f64>,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl MusicRequest {
    /// Music described by `prompt`.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            duration_seconds: None,
            model: None,
            parameters: Map::new(),
        }
    }

    /// Desired duration in seconds.
    #[must_use]
    pub fn duration_seconds(mut self, seconds: f64) -> Self {
        self.duration_seconds = Some(seconds);
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for an empty prompt or a non-positive duration.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_text("prompt", &self.prompt)?;
        require_positive_f64("duration_seconds", self.duration_seconds)
    }
}

/// Transcribe audio to text.
///
/// ```
/// use blazen_providers::TranscriptionRequest;
/// let req = TranscriptionRequest::new("https://example.com/audio.mp3").language("en").diarize(true);
/// assert!(req.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TranscriptionRequest {
    /// URL of the audio file to transcribe.
    pub audio_url: String,
    /// Language hint (e.g. "en").
    pub language: Option<String>,
    /// If true, identify and label different speakers.
    pub diarize: Option<bool>,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl TranscriptionRequest {
    /// Transcribe the audio at `audio_url`.
    pub fn new(audio_url: impl Into<String>) -> Self {
        Self {
            audio_url: audio_url.into(),
            language: None,
            diarize: None,
            model: None,
            parameters: Map::new(),
        }
    }

    /// Language hint.
    #[must_use]
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Label different speakers.
    #[must_use]
    pub fn diarize(mut self, diarize: bool) -> Self {
        self.diarize = Some(diarize);
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation for a missing or malformed audio URL.
    pub fn validate(&self) -> Result<(), BlazenError> {
        require_url("audio_url", &self.audio_url)
    }
}

/// Generate a 3D model from a text prompt or an image (at least one of them).
///
/// ```
/// use blazen_providers::ThreeDRequest;
/// assert!(ThreeDRequest::from_prompt("a 3D cat").format("glb").validate().is_ok());
/// assert!(ThreeDRequest::from_image("https://example.com/photo.jpg").validate().is_ok());
/// assert!(ThreeDRequest::new().validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreeDRequest {
    /// Text description of the 3D object to generate.
    pub prompt: Option<String>,
    /// Image to use as reference for 3D generation.
    pub image_url: Option<String>,
    /// Output format (e.g. "glb", "obj", "usdz").
    pub format: Option<String>,
    /// Specific model to use.
    pub model: Option<String>,
    /// Extra provider-specific input parameters.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

impl ThreeDRequest {
    /// An empty request: set a prompt or an image before sending.
    pub fn new() -> Self {
        Self::default()
    }

    /// A 3D object described by `prompt`.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        Self::new().prompt(prompt)
    }

    /// A 3D object reconstructed from the image at `url`.
    pub fn from_image(url: impl Into<String>) -> Self {
        Self::new().image_url(url)
    }

    /// Text description.
    #[must_use]
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Reference image.
    #[must_use]
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.image_url = Some(url.into());
        self
    }

    /// Output format ("glb", "obj", "usdz", …).
    #[must_use]
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }

    common_builders!();

    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation when neither a prompt nor an image URL is given, or either is
    /// malformed.
    pub fn validate(&self) -> Result<(), BlazenError> {
        let prompt = self
            .prompt
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if prompt.is_none() && self.image_url.is_none() {
            return Err(BlazenError::validation(
                "a 3D request needs a prompt or an image_url (at least one)",
            ));
        }
        if let Some(url) = &self.image_url {
            require_url("image_url", url)?;
        }
        if let Some(format) = &self.format {
            require_text("format", format)?;
        }
        Ok(())
    }
}

/// Any media job request; every request type converts into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ComputeRequest {
    /// Image generation.
    Image(ImageRequest),
    /// Image upscaling.
    Upscale(UpscaleRequest),
    /// Video generation.
    Video(VideoRequest),
    /// Text to speech.
    Speech(SpeechRequest),
    /// Music or sound generation.
    Music(MusicRequest),
    /// Speech to text.
    Transcription(TranscriptionRequest),
    /// 3D model generation.
    ThreeD(ThreeDRequest),
}

impl ComputeRequest {
    /// Checks the request before it is sent.
    ///
    /// # Errors
    /// [`BlazenError`] Validation, from the inner request's `validate`.
    pub fn validate(&self) -> Result<(), BlazenError> {
        match self {
            Self::Image(r) => r.validate(),
            Self::Upscale(r) => r.validate(),
            Self::Video(r) => r.validate(),
            Self::Speech(r) => r.validate(),
            Self::Music(r) => r.validate(),
            Self::Transcription(r) => r.validate(),
            Self::ThreeD(r) => r.validate(),
        }
    }

    /// The job kind, as a short name ("image", "upscale", "video", "speech", "music",
    /// "transcription", "3d").
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Image(_) => "image",
            Self::Upscale(_) => "upscale",
            Self::Video(_) => "video",
            Self::Speech(_) => "speech",
            Self::Music(_) => "music",
            Self::Transcription(_) => "transcription",
            Self::ThreeD(_) => "3d",
        }
    }

    /// The explicit model of the request, if any.
    pub fn model(&self) -> Option<&str> {
        match self {
            Self::Image(r) => r.model.as_deref(),
            Self::Upscale(r) => r.model.as_deref(),
            Self::Video(r) => r.model.as_deref(),
            Self::Speech(r) => r.model.as_deref(),
            Self::Music(r) => r.model.as_deref(),
            Self::Transcription(r) => r.model.as_deref(),
            Self::ThreeD(r) => r.model.as_deref(),
        }
    }

    /// The extra parameters of the request.
    pub fn parameters(&self) -> &Map<String, Value> {
        match self {
            Self::Image(r) => &r.parameters,
            Self::Upscale(r) => &r.parameters,
            Self::Video(r) => &r.parameters,
            Self::Speech(r) => &r.parameters,
            Self::Music(r) => &r.parameters,
            Self::Transcription(r) => &r.parameters,
            Self::ThreeD(r) => &r.parameters,
        }
    }
}

macro_rules! into_compute_request {
    ($($ty:ident => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for ComputeRequest {
            fn from(r: $ty) -> Self {
                Self::$variant(r)
            }
        }
    )*};
}

into_compute_request!(
    ImageRequest => Image,
    UpscaleRequest => Upscale,
    VideoRequest => Video,
    SpeechRequest => Speech,
    MusicRequest => Music,
    TranscriptionRequest => Transcription,
    ThreeDRequest => ThreeD,
);
