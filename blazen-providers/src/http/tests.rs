//! Tests of the HTTP layer against local servers.

use super::body::{read_limited, Over};
use super::events::SseEvents;
use super::*;
use bytes::Bytes;
use futures::StreamExt;
use std::task::Context;

/// A local server that accepts connections and never answers (they stay open).
pub(crate) async fn silent_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    addr
}

#[test]
fn a_json_body_is_exactly_sized_and_the_scratch_buffer_is_reused_or_dropped() {
    let small = json_body(&serde_json::json!({"model": "m"})).unwrap();
    assert_eq!(small, br#"{"model":"m"}"#);
    assert_eq!(small.capacity(), small.len());
    // A huge body is written whole, and the scratch buffer it grew is not kept.
    let huge = "x".repeat(3 << 20);
    let body = json_body(&huge).unwrap();
    assert_eq!(body.len(), huge.len() + 2);
    assert_eq!(body.capacity(), body.len());
    let again = json_body(&[1, 2]).unwrap();
    assert_eq!(again, b"[1,2]");
    // What JSON cannot carry is a validation error, not a panic.
    let mut bad = std::collections::BTreeMap::new();
    bad.insert(vec![1u8], 1);
    let err = json_body(&bad).unwrap_err();
    assert!(matches!(err, BlazenError::Validation { .. }), "{err:?}");
    assert!(
        err.to_string().contains("cannot encode the request"),
        "{err}"
    );
}

/// A response whose body comes in `pieces`, each in its own chunk and write.
async fn chunked_response(pieces: &'static [&'static [u8]]) -> Response {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).await;
        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        conn.write_all(head.as_bytes()).await.unwrap();
        for p in pieces {
            let mut frame = format!("{:x}\r\n", p.len()).into_bytes();
            frame.extend_from_slice(p);
            frame.extend_from_slice(b"\r\n");
            conn.write_all(&frame).await.unwrap();
            conn.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
        conn.write_all(b"0\r\n\r\n").await.unwrap();
    });
    HttpClient::new()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_body_in_pieces_is_joined_and_a_limit_keeps_or_refuses_what_is_over() {
    const PIECES: &[&[u8]] = &[b"hello ", b"big ", b"world"];
    let whole = read_body("p", chunked_response(PIECES).await)
        .await
        .unwrap();
    assert_eq!(&whole[..], b"hello big world");
    // Capped (an error body): the first bytes, the rest not read.
    let capped = read_capped("p", chunked_response(PIECES).await, 8)
        .await
        .unwrap();
    assert_eq!(&capped[..], b"hello bi");
    let capped = read_capped("p", chunked_response(PIECES).await, 3)
        .await
        .unwrap();
    assert_eq!(&capped[..], b"hel");
    // Over the limit of a successful answer: an error keeping the start of the body.
    let err = read_limited("p", chunked_response(PIECES).await, 10, Over::Fail)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BlazenError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("exceeds the limit of 10 bytes"),
        "{err}"
    );
    assert_eq!(err.raw_body(), Some("hello big "));
    // Exactly at the limit is whole.
    let exact = read_limited("p", chunked_response(PIECES).await, 15, Over::Fail)
        .await
        .unwrap();
    assert_eq!(&exact[..], b"hello big world");
}

#[test]
fn an_endpoint_cache_prepares_once_keeps_no_error_and_a_clone_starts_empty() {
    let cache = EndpointCache::default();
    let prepare = |url: &str| {
        let url = url.to_owned();
        move || Endpoint::new("p", &url, &Auth::None, &[])
    };
    assert!(cache.get_or_prepare(prepare("not a url")).is_err());
    let first = cache.get_or_prepare(prepare("http://a/x")).unwrap();
    assert_eq!(first.url.as_str(), "http://a/x");
    // Prepared: the next URL is not even looked at.
    let again = cache.get_or_prepare(prepare("http://b/y")).unwrap();
    assert_eq!(again.url.as_str(), "http://a/x");
    let clone = cache.clone();
    let fresh = clone.get_or_prepare(prepare("http://b/y")).unwrap();
    assert_eq!(fresh.url.as_str(), "http://b/y");
}

#[test]
fn a_json_body_made_while_another_is_being_made_does_not_panic() {
    // A `Serialize` impl that encodes a body itself finds the scratch buffer busy.
    struct Nested;
    impl serde::Serialize for Nested {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let inner = json_body(&[1, 2]).map_err(serde::ser::Error::custom)?;
            s.serialize_str(std::str::from_utf8(&inner).map_err(serde::ser::Error::custom)?)
        }
    }
    assert_eq!(json_body(&Nested).unwrap(), br#""[1,2]""#);
}

#[test]
fn a_ready_future_never_creates_the_idle_timer() {
    // No timer is created, so this works even on a runtime without a time driver.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let v = rt.block_on(async { idle_limited("p", async { 7 }).await });
    assert_eq!(v.unwrap(), 7);
}

#[tokio::test]
async fn a_transport_timeout_says_how_long_it_waited() {
    let addr = silent_server().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = send("test", client.post(format!("http://{addr}/")))
        .await
        .unwrap_err();
    let BlazenError::Timeout { elapsed, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        elapsed.is_some_and(|e| e >= Duration::from_millis(50)),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("timed out after "), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_silent_stream_times_out_after_the_idle_limit() {
    let start = tokio::time::Instant::now();
    let silent = futures::stream::pending::<reqwest::Result<Bytes>>();
    let mut guarded = SseEvents::new("test", silent, Duration::from_secs(5));
    let err = guarded.next().await.unwrap().unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(guarded.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_keeps_sending_is_not_cut() {
    // One event every 3 s for 30 s under a 5 s idle limit.
    let ticks = futures::stream::unfold(0u8, |n| async move {
        if n == 10 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let event = Bytes::from(format!("data: {n}\n\n"));
        Some((Ok::<Bytes, reqwest::Error>(event), n + 1))
    });
    let got: Vec<_> = SseEvents::new("test", ticks, Duration::from_secs(5))
        .collect()
        .await;
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(std::result::Result::is_ok));
    assert_eq!(&*got[9].as_ref().unwrap().data, "9");
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_goes_silent_later_times_out() {
    let body = futures::stream::iter([Ok::<Bytes, reqwest::Error>(Bytes::from_static(
        b"data: a\n\n",
    ))])
    .chain(futures::stream::pending());
    let start = tokio::time::Instant::now();
    let mut events = SseEvents::new("test", body, Duration::from_secs(5));
    assert_eq!(&*events.next().await.unwrap().unwrap().data, "a");
    let err = events.next().await.unwrap().unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    // Between the limit and twice the limit after the last event.
    assert!(
        start.elapsed() > Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() <= Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(events.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_stream_polled_from_another_task_still_times_out() {
    // The timer was armed with another waker first: it must be armed again with this
    // task's, or the timeout would wake nobody.
    let silent = futures::stream::pending::<reqwest::Result<Bytes>>();
    let mut events = SseEvents::new("test", silent, Duration::from_secs(5));
    let other = futures::task::noop_waker();
    assert!(events
        .poll_event(&mut Context::from_waker(&other))
        .is_pending());
    let start = tokio::time::Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(60), events.next()).await;
    let err = got.expect("the idle timeout fired").unwrap().unwrap_err();
    assert!(matches!(err, BlazenError::Timeout { .. }), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn decoding_errors_carry_the_provider_name() {
    let big = format!("data: {}\n\n", "z".repeat(crate::sse::DEFAULT_MAX_SIZE + 1));
    let body = futures::stream::iter([Ok::<Bytes, reqwest::Error>(Bytes::from(big))]);
    let mut events = SseEvents::new("acme", body, IDLE_TIMEOUT);
    let err = events.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, BlazenError::InvalidResponse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("acme"), "{err}");
    assert!(events.next().await.is_none());
}
