//! Reading server-sent events in tests, shared by the API tests (tests/api) and the multi-node
//! tests (tests/cluster) through `#[path]`: each test directory is its own crate.

use serde_json::Value;

/// Reads server-sent events from a streaming response until `want` holds for one of them
/// (bounded at 20 s), answering that event's data.
pub async fn event_until(
    r: &mut reqwest::Response,
    buffer: &mut String,
    name: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e;
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if event == name {
                let v: Value = serde_json::from_str(&data).expect("event data is JSON");
                if want(&v) {
                    return v;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("no matching `{name}` event within 20 s; last: {buffer}"))
            .expect("stream read")
            .unwrap_or_else(|| panic!("the stream ended before a matching `{name}` event"));
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}
