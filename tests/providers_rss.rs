//! Peak memory of a long stream (issue 5, S1: 20,000 content chunks), measured in a process of
//! its own. Ignored: it needs a server streaming S1 at `BLAZEN_RSS_URL` (`scripts/s1_server.py`;
//! an OpenAI-compatible base URL) and prints `VmHWM`; see BENCHMARKS.md for the command.

use blazen_providers::{ChatMessage, CompletionModel};
use futures::StreamExt;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "measurement: needs an S1 server at BLAZEN_RSS_URL"]
fn s1_stream_peak_rss() {
    let Ok(url) = std::env::var("BLAZEN_RSS_URL") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let before = vm_hwm_kb();
    let (chunks, bytes) = rt.block_on(async {
        let model = CompletionModel::openai_compatible(url, "").with_model("m");
        let mut s = model
            .stream(&[ChatMessage::user("hi")])
            .await
            .expect("stream");
        let (mut chunks, mut bytes) = (0usize, 0usize);
        while let Some(c) = s.next().await {
            let c = c.expect("chunk");
            chunks += 1;
            bytes += c.delta.map_or(0, |d| d.len());
        }
        (chunks, bytes)
    });
    let after = vm_hwm_kb();
    println!("chunks {chunks}, text bytes {bytes}, VmHWM before {before} kB, after {after} kB");
    assert!(chunks > 20_000);
    // Issue 5's target for the whole client process streaming S1.
    assert!(after <= 7 * 1024, "peak RSS {after} kB above 7 MB");
}
