//! What the signalling benches send and read back (benches/signalling_load.rs and
//! benches/cluster_load.rs include this file through `#[path]`): an ICE-candidate-sized payload
//! numbered by `seq`, and the client sockets' read buffer.

/// The clients' read buffer. tungstenite's default is 128 KiB, and it zero-fills the whole free
/// part before every read: with 2,000 sockets that was a third of the client's CPU (memset in
/// perf) and 256 MiB of buffers that no cache holds, so at 1,000 rooms the bench measured its own
/// clients rather than the servers. Every message here is under 2 KiB.
pub const CLIENT_READ_BUFFER: usize = 4096;

const CANDIDATE: &str = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXz4 network-cost 999";

/// An ICE-candidate-sized payload numbered `seq`, written without a JSON builder so the client
/// stays cheap.
pub fn candidate_payload(seq: u64) -> String {
    format!(
        r#"{{"candidate":{{"candidate":"{CANDIDATE}","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"sXz4"}},"seq":{seq}}}"#
    )
}

/// The `seq` of a relayed signal, read without parsing the whole message.
pub fn seq_of(text: &str) -> Option<u64> {
    let at = text.find("\"seq\":")? + 6;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
