//! Streaming and request overhead of `blazen-providers` against two floors, on a local server.
//!
//! Floors, measured in the same run against the same server:
//! - `raw`: reqwest reading the response bytes (no parsing at all);
//! - `parse`: reqwest + line split + `serde_json` into a minimal struct — the least any correct
//!   client does.
//!
//! Scenarios (issue 5, "Performance"):
//! - S1: 20,000 content chunks, one event per network write;
//! - S1b: the same bytes in one write (many events per read);
//! - S2: one tool call's arguments in 2,000 fragments;
//! - S3: small non-streaming requests, one at a time (latency) and 64 in flight (throughput);
//! - S5: an Anthropic stream of 20,000 text deltas in one write (`s5_`), the answer's blocks
//!   rebuilt beside the chunks for `native_content`.
//!
//! The server runs on its own thread and runtime; responses are prebuilt.
//! Run: `cargo bench --bench providers`.

use std::sync::{Arc, OnceLock};

use blazen_providers::{ChatMessage, CompletionModel};
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn main() {
    divan::main();
}

const S1_EVENTS: usize = 20_000;
const S2_FRAGMENTS: usize = 2_000;
const S3_IN_FLIGHT: usize = 64;
const S3_BATCH: usize = 640;

fn content_event(i: usize) -> String {
    // ~200-byte events, the shape OpenAI sends.
    format!(
        "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"gpt-4.1-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i:05} \"}},\"finish_reason\":null}}]}}\n\n"
    )
}

fn finish_events() -> Vec<String> {
    vec![
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".to_owned(),
        "data: [DONE]\n\n".to_owned(),
    ]
}

fn s1_events() -> Vec<String> {
    let mut v: Vec<String> = (0..S1_EVENTS).map(content_event).collect();
    v.extend(finish_events());
    v
}

fn s2_events() -> Vec<String> {
    let mut v = vec![format!(
        "data: {}\n\n",
        serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0,
            "id": "call_1", "type": "function", "function": {"name": "record", "arguments": ""}}]},
            "finish_reason": null}]})
    )];
    v.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"items\\\":[\"}}]},\"finish_reason\":null}]}\n\n"
            .to_owned(),
    );
    for i in 0..S2_FRAGMENTS {
        let sep = if i + 1 == S2_FRAGMENTS { "" } else { "," };
        v.push(format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{i}{sep}\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    v.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"]}\"}}]},\"finish_reason\":null}]}\n\n"
            .to_owned(),
    );
    v.push(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
            .to_owned(),
    );
    v.push("data: [DONE]\n\n".to_owned());
    v
}

const S3_BODY: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":0,"model":"gpt-4.1-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}"#;

/// Prebuilt responses: a head and the body pieces, one `write` each (chunked encoding).
struct Route {
    head: Vec<u8>,
    pieces: Vec<Vec<u8>>,
}

fn chunked(events: &[String], one_write: bool) -> Route {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    let frame = |s: &[u8]| {
        let mut f = format!("{:x}\r\n", s.len()).into_bytes();
        f.extend_from_slice(s);
        f.extend_from_slice(b"\r\n");
        f
    };
    let mut pieces: Vec<Vec<u8>> = if one_write {
        vec![frame(events.concat().as_bytes())]
    } else {
        events.iter().map(|e| frame(e.as_bytes())).collect()
    };
    pieces.push(b"0\r\n\r\n".to_vec());
    if one_write {
        let all = pieces.concat();
        pieces = vec![all];
    }
    Route { head, pieces }
}

fn plain(body: &str) -> Route {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let mut all = head;
    all.extend_from_slice(body.as_bytes());
    Route {
        head: Vec::new(),
        pieces: vec![all],
    }
}

struct Server {
    base: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let routes: Arc<Vec<(&'static str, Route)>> = Arc::new(vec![
            ("/s1b/", chunked(&s1_events(), true)),
            ("/s1/", chunked(&s1_events(), false)),
            ("/s2/", chunked(&s2_events(), false)),
            ("/s3/", plain(S3_BODY)),
            ("/s5/", chunked(&s5_events(), true)),
        ]);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = socket.set_nodelay(true);
                    tokio::spawn(serve_connection(socket, routes.clone()));
                }
            });
        });
        let addr = rx.recv().expect("server address");
        Server {
            base: format!("http://{addr}"),
        }
    })
}

/// Keep-alive HTTP/1.1: reads requests (headers + content-length body), answers by path prefix.
async fn serve_connection(
    mut socket: tokio::net::TcpStream,
    routes: Arc<Vec<(&'static str, Route)>>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut tmp = vec![0u8; 16384];
    loop {
        let head_end = loop {
            if let Some(p) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                break p;
            }
            match socket.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            match socket.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        buf.drain(..head_end + 4 + len);
        let Some((_, route)) = routes.iter().find(|(p, _)| path.starts_with(p)) else {
            return;
        };
        if !route.head.is_empty() && socket.write_all(&route.head).await.is_err() {
            return;
        }
        for piece in &route.pieces {
            if socket.write_all(piece).await.is_err() {
                return;
            }
        }
    }
}

/// One client runtime for every bench, so pooled connections stay valid between benches.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client")
}

const REQUEST: &str =
    r#"{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hello"}],"stream":true}"#;

// ---------- the floors ----------

async fn floor_raw(client: &reqwest::Client, url: &str) -> usize {
    let resp = client.post(url).body(REQUEST).send().await.expect("send");
    let mut s = resp.bytes_stream();
    let mut n = 0;
    while let Some(b) = s.next().await {
        n += b.expect("bytes").len();
    }
    n
}

#[derive(Deserialize)]
struct MinChunk {
    choices: Vec<MinChoice>,
}

#[derive(Deserialize)]
struct MinChoice {
    delta: MinDelta,
}

#[derive(Deserialize)]
struct MinDelta {
    content: Option<String>,
    tool_calls: Option<Vec<MinToolCall>>,
}

#[derive(Deserialize)]
struct MinToolCall {
    function: MinFunction,
}

#[derive(Deserialize)]
struct MinFunction {
    arguments: Option<String>,
}

/// reqwest + line split + serde_json into a minimal struct.
async fn floor_parse(client: &reqwest::Client, url: &str) -> usize {
    let resp = client.post(url).body(REQUEST).send().await.expect("send");
    let mut s = resp.bytes_stream();
    let mut rest: Vec<u8> = Vec::new();
    let mut text = String::new();
    let handle = |line: &[u8], text: &mut String| {
        if let Some(data) = line.strip_prefix(b"data: ") {
            if data != b"[DONE]" {
                let c: MinChunk = serde_json::from_slice(data).expect("chunk");
                for ch in c.choices {
                    if let Some(t) = ch.delta.content {
                        text.push_str(&t);
                    }
                    for tc in ch.delta.tool_calls.into_iter().flatten() {
                        if let Some(a) = tc.function.arguments {
                            text.push_str(&a);
                        }
                    }
                }
            }
        }
    };
    while let Some(b) = s.next().await {
        let b = b.expect("bytes");
        let mut start = 0;
        if !rest.is_empty() {
            match memchr::memchr(b'\n', &b) {
                Some(p) => {
                    rest.extend_from_slice(&b[..p]);
                    let line = std::mem::take(&mut rest);
                    handle(&line, &mut text);
                    start = p + 1;
                }
                None => {
                    rest.extend_from_slice(&b);
                    continue;
                }
            }
        }
        for line in memchr::memchr_iter(b'\n', &b[start..]).scan(start, |from, p| {
            let l = &b[*from..start + p];
            *from = start + p + 1;
            Some(l)
        }) {
            handle(line, &mut text);
        }
        let tail_from = memchr::memrchr(b'\n', &b[start..]).map_or(start, |p| start + p + 1);
        rest.extend_from_slice(&b[tail_from..]);
    }
    text.len()
}

async fn blazen_stream(model: &CompletionModel) -> usize {
    let mut s = model
        .stream(&[ChatMessage::user("Hello")])
        .await
        .expect("stream");
    let mut n = 0;
    while let Some(c) = s.next().await {
        let c = c.expect("chunk");
        n += c.delta.map_or(0, |d| d.len());
        n += c
            .tool_calls
            .iter()
            .map(|t| t.arguments_json().len())
            .sum::<usize>();
    }
    n
}

fn model(route: &str) -> CompletionModel {
    CompletionModel::openai_compatible(format!("{}/{route}", server().base), "k")
        .with_model("gpt-4.1-mini")
}

fn url(route: &str) -> String {
    format!("{}/{route}/chat/completions", server().base)
}

// ---------- S1 / S1b / S2 ----------

#[divan::bench(args = ["s1", "s1b", "s2"], sample_count = 20, sample_size = 1)]
fn floor_raw_bytes(bencher: divan::Bencher, route: &str) {
    let rt = runtime();
    let c = client();
    let u = url(route);
    bencher.bench_local(|| rt.block_on(floor_raw(&c, &u)));
}

#[divan::bench(args = ["s1", "s1b", "s2"], sample_count = 20, sample_size = 1)]
fn floor_parse_minimal(bencher: divan::Bencher, route: &str) {
    let rt = runtime();
    let c = client();
    let u = url(route);
    bencher.bench_local(|| rt.block_on(floor_parse(&c, &u)));
}

#[divan::bench(args = ["s1", "s1b", "s2"], sample_count = 20, sample_size = 1)]
fn blazen_stream_chunks(bencher: divan::Bencher, route: &str) {
    let rt = runtime();
    let m = model(route);
    bencher.bench_local(|| rt.block_on(blazen_stream(&m)));
}

// Per-scenario copies of the three functions above, so that one scenario can be selected by
// name (`--bench s1b_` runs only S1b), e.g. to count its instructions under callgrind.

macro_rules! per_scenario {
    ($($raw:ident, $parse:ident, $blazen:ident = $route:literal;)*) => {$(
        #[divan::bench(sample_count = 20, sample_size = 1)]
        fn $raw(bencher: divan::Bencher) {
            floor_raw_bytes(bencher, $route);
        }

        #[divan::bench(sample_count = 20, sample_size = 1)]
        fn $parse(bencher: divan::Bencher) {
            floor_parse_minimal(bencher, $route);
        }

        #[divan::bench(sample_count = 20, sample_size = 1)]
        fn $blazen(bencher: divan::Bencher) {
            blazen_stream_chunks(bencher, $route);
        }
    )*};
}

per_scenario! {
    s1_floor_raw, s1_floor_parse, s1_blazen = "s1";
    s1b_floor_raw, s1b_floor_parse, s1b_blazen = "s1b";
    s2_floor_raw, s2_floor_parse, s2_blazen = "s2";
}

// ---------- S3 ----------

#[derive(Deserialize)]
struct MinResponse {
    choices: Vec<MinResponseChoice>,
}

#[derive(Deserialize)]
struct MinResponseChoice {
    message: MinMessage,
}

#[derive(Deserialize)]
struct MinMessage {
    content: Option<String>,
}

async fn floor_request(client: &reqwest::Client, url: &str) -> usize {
    let resp = client.post(url).body(REQUEST).send().await.expect("send");
    let body = resp.bytes().await.expect("body");
    let r: MinResponse = serde_json::from_slice(&body).expect("json");
    r.choices[0].message.content.as_deref().map_or(0, str::len)
}

/// The parse floor plus what an authenticated JSON API needs on the wire (an `Authorization`
/// header and a JSON content type), to tell the cost of those headers from blazen's own.
async fn floor_request_auth(client: &reqwest::Client, url: &str) -> usize {
    let resp = client
        .post(url)
        .header(reqwest::header::AUTHORIZATION, "Bearer k")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(REQUEST)
        .send()
        .await
        .expect("send");
    let body = resp.bytes().await.expect("body");
    let r: MinResponse = serde_json::from_slice(&body).expect("json");
    r.choices[0].message.content.as_deref().map_or(0, str::len)
}

async fn blazen_request(model: &CompletionModel) -> usize {
    let r = model
        .complete(&[ChatMessage::user("Hello")])
        .await
        .expect("complete");
    r.content.map_or(0, |c| c.len())
}

#[divan::bench(sample_count = 2000)]
fn s3_latency_floor(bencher: divan::Bencher) {
    let rt = runtime();
    let c = client();
    let u = url("s3");
    bencher.bench_local(|| rt.block_on(floor_request(&c, &u)));
}

#[divan::bench(sample_count = 2000)]
fn s3_latency_blazen(bencher: divan::Bencher) {
    let rt = runtime();
    let m = model("s3");
    bencher.bench_local(|| rt.block_on(blazen_request(&m)));
}

/// `S3_BATCH` requests made by `request`, `S3_IN_FLIGHT` at a time.
fn in_flight<F: std::future::Future<Output = usize>>(
    bencher: divan::Bencher,
    request: impl Fn() -> F + Sync,
) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(S3_BATCH))
        .bench_local(|| {
            rt.block_on(
                futures::stream::iter(0..S3_BATCH)
                    .map(|_| request())
                    .buffer_unordered(S3_IN_FLIGHT)
                    .count(),
            )
        });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn s3_64_in_flight_floor(bencher: divan::Bencher) {
    let (c, u) = (client(), url("s3"));
    in_flight(bencher, || floor_request(&c, &u));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn s3_64_in_flight_floor_auth(bencher: divan::Bencher) {
    // blazen's client settings: connect and pool limits, user agent, no reqwest timeout.
    let c = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .user_agent("blazen-providers/0.1.0")
        .build()
        .expect("client");
    let u = url("s3");
    in_flight(bencher, || floor_request_auth(&c, &u));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn s3_64_in_flight_blazen(bencher: divan::Bencher) {
    let m = model("s3");
    in_flight(bencher, || blazen_request(&m));
}

// ---------- S5 ----------

/// An Anthropic stream: a text block of [`S1_EVENTS`] deltas.
fn s5_events() -> Vec<String> {
    let mut v = vec![
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n".to_owned(),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_owned(),
    ];
    v.extend((0..S1_EVENTS).map(|i| {
        format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"tok{i:05} \"}}}}\n\n"
        )
    }));
    v.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_owned(),
    );
    v.push("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":20000}}\n\n".to_owned());
    v.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_owned());
    v
}

#[derive(Deserialize)]
struct MinAnthropicEvent {
    delta: Option<MinAnthropicDelta>,
}

#[derive(Deserialize)]
struct MinAnthropicDelta {
    text: Option<String>,
}

/// The parse floor for S5: reqwest + line split + `serde_json` of each `data:` line.
async fn floor_parse_anthropic(client: &reqwest::Client, url: &str) -> usize {
    let body = client
        .post(url)
        .body(REQUEST)
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("bytes");
    let mut text = String::new();
    for line in body.split(|b| *b == b'\n') {
        if let Some(data) = line.strip_prefix(b"data: ") {
            let event: MinAnthropicEvent = serde_json::from_slice(data).expect("event");
            if let Some(t) = event.delta.and_then(|d| d.text) {
                text.push_str(&t);
            }
        }
    }
    text.len()
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn s5_floor_parse_anthropic(bencher: divan::Bencher) {
    let rt = runtime();
    let c = client();
    let u = format!("{}/s5/messages", server().base);
    bencher.bench_local(|| rt.block_on(floor_parse_anthropic(&c, &u)));
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn s5_blazen_anthropic(bencher: divan::Bencher) {
    let rt = runtime();
    let m = CompletionModel::anthropic("k").with_base_url(format!("{}/s5", server().base));
    bencher.bench_local(|| rt.block_on(blazen_stream(&m)));
}
