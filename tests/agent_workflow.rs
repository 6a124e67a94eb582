//! LLM calls inside workflow steps: a step holding a model streams its answer to the run's event
//! stream (`stream_to_workflow`), and a provider error fails the run with its message.

#[allow(dead_code)]
mod support;

use std::time::Duration;

use blazen::prelude::*;
use blazen::{downcast_event, EventInfo};
use blazen_providers::{
    stream_to_workflow, ChatMessage, CompletionModel, CompletionRequest, LlmDelta,
};
use futures::StreamExt;
use support::scripted_server::{error, sse_text, ScriptedServer};

/// A one-step workflow whose step owns a clone of `model`.
fn answer_workflow(model: CompletionModel) -> Workflow {
    let step = Step::new("answer", move |ctx, ev| {
        let model = model.clone();
        async move {
            let start: StartEvent = downcast_event(ev)?;
            let question = start
                .get("question")
                .and_then(|q| q.as_str())
                .unwrap_or_default()
                .to_owned();
            let request = CompletionRequest::new(vec![ChatMessage::user(question)]);
            let response = stream_to_workflow(&ctx, &model, request, "answer").await?;
            Ok(StepOutput::Single(Box::new(StopEvent::new(json!({
                "answer": response.content,
                "tokens": response.usage.map(|u| u.total_tokens),
            })))))
        }
    })
    .accepts(EventInfo::of::<StartEvent>())
    .emits(EventInfo::of::<StopEvent>());
    Workflow::builder("answer")
        .step(step)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("valid workflow")
}

#[tokio::test]
async fn a_step_streams_token_deltas_to_the_run() {
    let server = ScriptedServer::start(vec![sse_text(&["Bon", "jour", " !"])]).await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "k").with_model("gpt-4o-mini");
    let handler = answer_workflow(model)
        .run(json!({"question": "Say hello in French"}))
        .await
        .unwrap();
    let deltas: Vec<LlmDelta> = handler
        .stream_events()
        .filter_map(|ev| async move { downcast_event::<LlmDelta>(ev).ok() })
        .collect()
        .await;
    assert_eq!(
        deltas,
        ["Bon", "jour", " !"]
            .map(|t| LlmDelta {
                source: "answer".into(),
                text: t.into()
            })
            .to_vec()
    );
    let stop = handler.result().await.unwrap();
    assert_eq!(stop.result, json!({"answer": "Bonjour !", "tokens": 15}));
    let sent = server.requests().await;
    assert_eq!(sent[0].messages()[0]["content"], "Say hello in French");
}

#[tokio::test]
async fn a_provider_error_in_a_step_fails_the_run() {
    let server =
        ScriptedServer::start(vec![error(401, "invalid_api_key", "Incorrect API key")]).await;
    let model =
        CompletionModel::openai_compatible(server.base_url(), "bad").with_model("gpt-4o-mini");
    let handler = answer_workflow(model)
        .run(json!({"question": "hi"}))
        .await
        .unwrap();
    let err = handler.result().await.unwrap_err();
    assert!(err.to_string().contains("Incorrect API key"), "{err}");
}
