//! A raw local HTTP server scripted byte by byte, for what a mock server cannot do: answer
//! late, stop halfway through a body, or go silent with the connection held open.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server writes once it has read a request: each piece after its delay. Then it stays
/// silent, the connection held open.
pub(crate) type Script = Vec<(Duration, Vec<u8>)>;

/// Starts a server that answers every connection with `script`; returns its base URL.
pub(crate) async fn serve(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer(socket, script.clone()));
        }
    });
    format!("http://{addr}")
}

/// Like [`serve`], but the server closes the connection once `script` is written (a body
/// without framing ends there; a chunked or sized one is cut short).
pub(crate) async fn serve_and_close(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move {
                let mut socket = socket;
                if read_head(&mut socket).await {
                    for (delay, bytes) in script {
                        tokio::time::sleep(delay).await;
                        if socket.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    let _ = socket.shutdown().await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Reads a request head; `false` when the connection ended first.
async fn read_head(socket: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    true
}

async fn answer(mut socket: TcpStream, script: Script) {
    // The request head; its small body comes with it or is left unread (nothing waits on it).
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    for (delay, bytes) in script {
        tokio::time::sleep(delay).await;
        if socket.write_all(&bytes).await.is_err() {
            return;
        }
    }
    // Silent from here on; dropping the socket would end the body instead.
    tokio::time::sleep(Duration::from_secs(1_000_000)).await;
}

/// A 200 response head: with a content length, or chunked when `length` is `None`.
pub(crate) fn head(content_type: &str, length: Option<usize>) -> Vec<u8> {
    let framing = match length {
        Some(n) => format!("content-length: {n}"),
        None => "transfer-encoding: chunked".to_owned(),
    };
    format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\n{framing}\r\n\r\n").into_bytes()
}

/// One piece of a chunked body.
pub(crate) fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The end of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Starts a keep-alive HTTP/1.1 server that answers every request on a connection with the
/// same 200 JSON `body`; returns its base URL and the number of connections it accepted.
pub(crate) async fn serve_keep_alive(
    body: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer: &'static [u8] = Box::leak(answer.into_bytes().into_boxed_slice());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(keep_alive(socket, answer));
        }
    });
    (format!("http://{addr}"), accepted)
}

async fn keep_alive(mut socket: TcpStream, answer: &'static [u8]) {
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = vec![0u8; 16 * 1024];
    loop {
        // One request: its head, then `content-length` bytes of body.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match socket.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match socket.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        buf.drain(..head_end + length);
        if socket.write_all(answer).await.is_err() {
            return;
        }
    }
}
