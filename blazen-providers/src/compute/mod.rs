//! Media compute: image, upscale, video, speech, music, transcription and 3D jobs through one
//! [`ComputeModel`] (fal's queue, OpenAI's media endpoints).
//!
//! Every request is validated before anything is sent, runs as a [`ComputeJob`] (submit, poll,
//! result; cancellable) and returns typed outputs ([`GeneratedMedia`]: URL or bytes, MIME type,
//! size and duration where the provider gives them).

mod job;
pub(crate) mod openai;
mod output;
mod request;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;

pub(crate) use job::{with_total, RemoteJob, RemoteStatus};
pub use job::{ComputeJob, JobProgress, JobStatus, PollConfig};
pub(crate) use output::media_type_from_extension;
pub use output::{
    AudioOutput, ComputeOutput, GeneratedMedia, ImageOutput, JobInfo, ThreeDOutput,
    TranscriptSegment, TranscriptionOutput, VideoOutput,
};
pub use request::{
    ComputeRequest, ImageRequest, MusicRequest, SpeechRequest, ThreeDRequest, TranscriptionRequest,
    UpscaleRequest, VideoRequest,
};

/// A provider of media jobs.
#[async_trait]
pub(crate) trait ComputeBackend: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    /// Submits a validated request.
    async fn submit(&self, request: ComputeRequest, poll: PollConfig) -> Result<ComputeJob>;
    fn with_base_url(&self, base_url: &str) -> Arc<dyn ComputeBackend>;
}

/// Media generation and processing jobs on one provider.
///
/// Cheap to clone; `Debug` never shows the key.
///
/// ```no_run
/// use blazen_providers::{ComputeModel, ImageRequest, ThreeDRequest};
/// # async fn run() -> blazen_providers::Result<()> {
/// let media = ComputeModel::fal("fal-key");
/// let out = media.generate_image(ImageRequest::new("a cat in space").size(1024, 1024)).await?;
/// println!("{:?}", out.images[0].url);
///
/// // Invalid requests fail before anything is sent:
/// assert!(media.generate_3d(ThreeDRequest::new()).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ComputeModel {
    backend: Arc<dyn ComputeBackend>,
    poll: PollConfig,
}

impl fmt::Debug for ComputeModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputeModel")
            .field("backend", &self.backend)
            .field("poll", &self.poll)
            .finish()
    }
}

impl ComputeModel {
    pub(crate) fn from_backend(backend: impl ComputeBackend + 'static) -> Self {
        Self {
            backend: Arc::new(backend),
            poll: PollConfig::default(),
        }
    }

    /// The provider's name (`"fal"`, `"openai"`).
    pub fn provider_name(&self) -> &str {
        self.backend.name()
    }

    /// Sends requests to another base URL (proxies, tests).
    #[must_use]
    pub fn with_base_url(self, base_url: impl Into<String>) -> Self {
        Self {
            backend: self.backend.with_base_url(&base_url.into()),
            ..self
        }
    }

    /// Sets how jobs are polled (intervals, back-off, overall timeout).
    #[must_use]
    pub fn with_poll(self, poll: PollConfig) -> Self {
        Self { poll, ..self }
    }

    /// The polling settings.
    pub fn poll_config(&self) -> PollConfig {
        self.poll
    }

    /// Validates and submits any request; returns the job without waiting for it.
    ///
    /// # Errors
    /// Validation before sending; the provider's errors on submission (auth, quota, ...), or
    /// Unsupported when this provider has no such job.
    pub async fn submit(&self, request: impl Into<ComputeRequest>) -> Result<ComputeJob> {
        let request = request.into();
        request.validate()?;
        self.backend.submit(request, self.poll).await
    }

    /// Submits a request and waits for its output.
    ///
    /// # Errors
    /// As [`submit`](Self::submit) and [`ComputeJob::wait`].
    pub async fn run(&self, request: impl Into<ComputeRequest>) -> Result<ComputeOutput> {
        self.submit(request).await?.wait().await
    }

    /// Generates images.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn generate_image(&self, request: ImageRequest) -> Result<ImageOutput> {
        self.run(request).await?.into_images()
    }

    /// Upscales an image.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn upscale(&self, request: UpscaleRequest) -> Result<ImageOutput> {
        self.run(request).await?.into_images()
    }

    /// Generates a video.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn generate_video(&self, request: VideoRequest) -> Result<VideoOutput> {
        self.run(request).await?.into_video()
    }

    /// Speaks text.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn speech(&self, request: SpeechRequest) -> Result<AudioOutput> {
        self.run(request).await?.into_audio()
    }

    /// Generates music or sound.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn music(&self, request: MusicRequest) -> Result<AudioOutput> {
        self.run(request).await?.into_audio()
    }

    /// Transcribes audio.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn transcribe(&self, request: TranscriptionRequest) -> Result<TranscriptionOutput> {
        self.run(request).await?.into_transcription()
    }

    /// Generates a 3D model.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn generate_3d(&self, request: ThreeDRequest) -> Result<ThreeDOutput> {
        self.run(request).await?.into_three_d()
    }
}
