//! The public names of `../shared/API.md`, written as that page writes them: this file fails to
//! compile when a name drifts. Network calls sit in functions that are type-checked, not run.

use std::time::Duration;

use blazen::prelude::*;
use blazen::{InputRequiredEvent, WorkflowHandler};
use blazen_providers::{
    count_message_tokens, estimate_tokens, run_agent, AgentOptions, AgentResult, BlazenError,
    CacheConfig, ChatMessage, CompletionModel, CompletionRequest, CompletionResponse, ComputeModel,
    ContentPart, EmbeddingModel, EmbeddingResponse, ImageRequest, MediaType, MusicRequest,
    RequestTiming, RetryConfig, Role, SpeechRequest, StreamChunk, ThreeDRequest, TokenUsage,
    ToolCall, TranscriptionRequest, UpscaleRequest, VideoRequest,
};
use futures::StreamExt;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct AnalyzeEvent {
    text: String,
    score: f64,
}

#[step]
fn start(_ctx: &Context, ev: StartEvent) -> AnalyzeEvent {
    let text = ev
        .get("prompt")
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    AnalyzeEvent {
        text: text.to_owned(),
        score: 0.9,
    }
}

#[step]
async fn analyze(ctx: &Context, ev: AnalyzeEvent) -> Result<StopEvent, WorkflowError> {
    ctx.set("key", &ev.score)?;
    let v: Option<f64> = ctx.get("key")?;
    ctx.set_bytes("blob", vec![1, 2, 3]);
    assert_eq!(ctx.get_bytes("blob"), Some(vec![1, 2, 3]));
    let _: uuid::Uuid = ctx.run_id();
    ctx.write_event_to_stream(ev.clone());
    Ok(StopEvent::new(json!({"text": ev.text, "score": v})))
}

#[tokio::test]
async fn events_steps_workflows_and_context() {
    let ev = AnalyzeEvent {
        text: "hello".into(),
        score: 0.9,
    };
    assert_eq!(ev.event_type(), "AnalyzeEvent");
    assert_eq!(AnalyzeEvent::EVENT_TYPE, "AnalyzeEvent");
    assert_eq!(ev.to_json(), json!({"text": "hello", "score": 0.9}));

    let dy = DynamicEvent::new("AnalyzeEvent", json!({"text": "hello", "score": 0.9}));
    assert_eq!(dy.event_type(), "AnalyzeEvent");
    assert_eq!(dy.get("text"), Some(&json!("hello")));

    let s = StartEvent::new(json!({"prompt": "Hello"}));
    assert_eq!(s.event_type(), "blazen::StartEvent");
    assert_eq!(s.data["prompt"], "Hello");
    let parsed: serde_json::Map<String, serde_json::Value> = s.parse().unwrap();
    assert_eq!(parsed.len(), 1);
    let stop = StopEvent::new(json!(1));
    assert_eq!(stop.event_type(), "blazen::StopEvent");
    assert_eq!(stop.result, json!(1));

    let wf = workflow!("analyze", [start, analyze]);
    let _timed = workflow!(
        "analyze",
        [start, analyze],
        timeout = Duration::from_secs(30)
    );
    let built = Workflow::builder("analyze")
        .step(start::step())
        .step(analyze::step())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    assert!(built.to_mermaid().contains("analyze"));

    let handler: WorkflowHandler = wf.run(json!({"prompt": "Hello"})).await.unwrap();
    let _: uuid::Uuid = handler.run_id();
    let mut events = Box::pin(handler.stream_events());
    let stop: StopEvent = handler.result().await.unwrap();
    assert_eq!(stop.result["text"], "Hello");
    let streamed = events.next().await.unwrap();
    assert_eq!(streamed.event_type(), "AnalyzeEvent");

    // A dynamic event is routed like the typed event of its name.
    let _ = InputRequiredEvent::EVENT_TYPE;
}

/// Get the current weather for a city.
#[tool]
async fn weather(
    /// The city name.
    city: String,
    unit: Option<Unit>,
) -> Result<Weather, ToolError> {
    Ok(Weather {
        city,
        degrees: 18.0,
        unit: unit.unwrap_or(Unit::Celsius),
    })
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(Debug, Serialize)]
struct Weather {
    city: String,
    degrees: f64,
    unit: Unit,
}

#[tokio::test]
async fn tools() {
    let def: ToolDef = weather::tool();
    assert_eq!(def.name, "weather");
    assert_eq!(def.description, "Get the current weather for a city.");
    assert_eq!(def.parameters["required"], json!(["city"]));
    let out = def.call(json!({"city": "Paris"})).await.unwrap();
    assert_eq!(out["city"], "Paris");
    let strict = def.parameters_for(SchemaDialect::OpenAiStrict);
    assert_eq!(strict["additionalProperties"], json!(false));
    for d in [
        SchemaDialect::OpenAi,
        SchemaDialect::Gemini,
        SchemaDialect::Anthropic,
    ] {
        assert!(def.parameters_for(d).is_object());
    }
    let by_hand = ToolDef::new(
        "search",
        "Search the web for a query",
        json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
        |args: serde_json::Value| json!({"results": [args["query"]]}),
    );
    assert_eq!(
        by_hand.call(json!({"query": "q"})).await.unwrap(),
        json!({"results": ["q"]})
    );
}

#[tokio::test]
async fn durable_runs() {
    let wf = workflow!("analyze", [start, analyze]);
    let dir = std::env::temp_dir().join(format!("blazen-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = EmbeddedStore::open(dir.join("runs.db")).unwrap();
    let _ = Workflow::builder("x")
        .step(start::step())
        .step(analyze::step())
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let durable = workflow!("analyze", [start, analyze], checkpoint = store.clone());
    let handler = durable.run(json!({"prompt": "Hi"})).await.unwrap();
    let run_id = handler.run_id();
    let _ = handler.result().await.unwrap();
    let resumed = durable.resume_from(&store, run_id).await.unwrap();
    assert_eq!(resumed.result().await.unwrap().result["text"], "Hi");
    assert!(resumed.input_requests().is_empty());

    let handler = wf.run(json!({"prompt": "Hello"})).await.unwrap();
    // The run may already be over (pause is then an error); pause/resume itself is tested in
    // tests/durable_*.rs: here the names and the JSON round trip are checked.
    if let Ok(snap) = handler.pause().await {
        let snap: WorkflowSnapshot =
            serde_json::from_str(&serde_json::to_string(&snap).unwrap()).unwrap();
        let handler = wf.resume(snap).await.unwrap();
        assert_eq!(handler.result().await.unwrap().result["text"], "Hello");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Type-checked, never run: these calls would reach the network.
#[allow(dead_code, clippy::no_effect_underscore_binding)]
async fn providers_compile(key: String) -> Result<(), BlazenError> {
    let model = CompletionModel::openai(key.clone()).with_model("gpt-4.1-mini");
    let _ = [
        CompletionModel::anthropic(key.clone()),
        CompletionModel::gemini(key.clone()),
        CompletionModel::openrouter(key.clone()),
        CompletionModel::groq(key.clone()),
        CompletionModel::together(key.clone()),
        CompletionModel::mistral(key.clone()),
        CompletionModel::deepseek(key.clone()),
        CompletionModel::fireworks(key.clone()),
        CompletionModel::perplexity(key.clone()),
        CompletionModel::xai(key.clone()),
        CompletionModel::cohere(key.clone()),
        CompletionModel::fal(key.clone()),
        CompletionModel::azure(key.clone(), "resource", "deployment"),
        CompletionModel::bedrock(key.clone(), "us-east-1"),
        CompletionModel::openai_compatible("http://localhost:8080/v1", key.clone())
            .with_base_url("http://localhost:8081/v1"),
    ];
    let _: &str = model.model_id();
    let messages = vec![
        ChatMessage::system("Be brief."),
        ChatMessage::user("Hello"),
        ChatMessage::user_image_url("What is this?", "https://example.com/a.jpg", None),
        ChatMessage::user_parts(vec![
            ContentPart::text("What's in this image?"),
            ContentPart::image_url("https://example.com/photo.jpg", MediaType::JPEG),
        ]),
    ];
    let _first: CompletionResponse = model.complete(&messages).await?;
    let r = model
        .complete_with(
            CompletionRequest::new(messages.clone())
                .temperature(0.2)
                .max_tokens(256)
                .model("other")
                .tools(vec![weather::tool()]),
        )
        .await?;
    let _: (Option<String>, String, Option<String>, Vec<ToolCall>) =
        (r.content, r.model, r.finish_reason, r.tool_calls);
    let _: (Option<TokenUsage>, Option<f64>, Option<RequestTiming>) = (r.usage, r.cost, r.timing);
    let _ = (r.images, r.audio, r.videos);
    let mut s = Box::pin(model.stream(&messages).await?);
    while let Some(chunk) = s.next().await {
        let chunk: StreamChunk = chunk?;
        let _ = (chunk.delta, chunk.finish_reason, chunk.tool_calls);
    }
    model
        .stream_with(&messages, |chunk: StreamChunk| drop(chunk))
        .await?;

    let retried = model.clone().with_retry(RetryConfig {
        max_retries: 3,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
    });
    let cached = retried.with_cache(CacheConfig {
        ttl: Duration::from_secs(300),
        max_entries: 1000,
    });
    let _ = CompletionModel::with_fallback(vec![
        cached,
        model.clone().with_retry(RetryConfig::default()),
    ]);

    let emb = EmbeddingModel::openai(key.clone())
        .with_model("text-embedding-3-large")
        .with_dimensions(3072);
    let _ = (
        EmbeddingModel::together(key.clone()),
        EmbeddingModel::cohere(key.clone()),
        EmbeddingModel::fireworks(key.clone()),
    );
    let e: EmbeddingResponse = emb.embed(&["a", "b"]).await?;
    let _ = (e.embeddings, e.model, e.usage, e.cost, e.timing);

    let result: AgentResult = run_agent(
        &model,
        messages.clone(),
        &[weather::tool()],
        AgentOptions {
            max_iterations: 10,
            system_prompt: Some("You are helpful.".into()),
            temperature: None,
            max_tokens: None,
            add_finish_tool: true,
            ..AgentOptions::default()
        },
    )
    .await?;
    let _ = (
        result.response,
        result.messages,
        result.iterations,
        result.total_cost,
    );

    let media = ComputeModel::fal(key.clone());
    let _ = ComputeModel::openai(key);
    media
        .generate_image(ImageRequest::new("a cat in space").size(1024, 1024))
        .await?;
    media
        .upscale(UpscaleRequest::new("https://example.com/a.jpg", 4.0))
        .await?;
    media
        .generate_video(VideoRequest::new("a sunset timelapse"))
        .await?;
    media.speech(SpeechRequest::new("Hello world")).await?;
    media.music(MusicRequest::new("upbeat jazz")).await?;
    media
        .transcribe(TranscriptionRequest::new("https://example.com/a.mp3"))
        .await?;
    media
        .generate_3d(ThreeDRequest::new().prompt("a 3D cat"))
        .await?;
    Ok(())
}

#[test]
fn tokens_roles_media_and_errors() {
    assert_eq!(estimate_tokens("Hello, world!", 128_000), 4);
    let n = count_message_tokens(
        &[
            ChatMessage::system("You are helpful."),
            ChatMessage::user("Hello!"),
        ],
        128_000,
    );
    assert!(n > estimate_tokens("You are helpful.Hello!", 128_000));
    let _ = (Role::System, Role::User, Role::Assistant, Role::Tool);
    assert_eq!(MediaType::PNG.to_string(), "image/png");
    assert_eq!(MediaType::GLB.to_string(), "model/gltf-binary");
    let _ = ChatMessage::tool("{}");
    let _ = ChatMessage::assistant("ok");
    let _ = ChatMessage::user_image_base64("look", "aGVsbG8=", MediaType::PNG);
}

#[allow(dead_code)]
fn error_accessors(err: &BlazenError) {
    let _: Option<u16> = err.status();
    let _: Option<&str> = err.code();
    let _ = err.error_type();
    let _ = err.provider();
    let _ = err.request_id();
    let _: Option<Duration> = err.retry_after();
    let _ = err.raw_body();
    let _: bool = err.is_retryable();
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Draft;

/// `#[step(retry = .., timeout = ..)]`, `Either`, `OneOf3` and `collect_any`, as API.md's
/// "Retries, timeouts, cancellation, failures as events" writes them.
#[step(retry = RetryPolicy::exponential(3, Duration::from_millis(100)),
       timeout = Duration::from_secs(5))]
async fn gather(
    ctx: &Context,
    ev: Either<AnalyzeEvent, Draft>,
) -> Result<Option<OneOf3<AnalyzeEvent, Draft, StopEvent>>, WorkflowError> {
    let all: Option<Vec<Either<AnalyzeEvent, Draft>>> =
        ctx.collect_any::<Either<AnalyzeEvent, Draft>>(ev, 2);
    let _: usize = ctx.collected_count::<Either<AnalyzeEvent, Draft>>();
    Ok(all.map(|all| match all.into_iter().next() {
        Some(Either::Left(a)) => OneOf3::First(a),
        Some(Either::Right(d)) => OneOf3::Second(d),
        None => OneOf3::Third(StopEvent::default()),
    }))
}

#[test]
fn dsl_additions() {
    fn choice<C: EventChoice>() {}
    choice::<OneOf3<AnalyzeEvent, Draft, StopEvent>>();
    let step = gather::step();
    assert_eq!(step.retry_policy().map(RetryPolicy::max_attempts), Some(3));
    assert_eq!(step.step_timeout(), Some(Duration::from_secs(5)));
}
