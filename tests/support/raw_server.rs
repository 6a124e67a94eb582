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
