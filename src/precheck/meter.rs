//! Measures one incoming RTP stream as it is echoed: packets received and lost (from sequence
//! numbers), interarrival jitter (RFC 3550 §6.4.1) and bitrate. Pure: the caller passes the
//! arrival time, so the arithmetic is tested without a network.
//!
//! Counted here rather than read from the receiver reports because the check is short (seconds)
//! and the reports come once a second or less: every packet is seen anyway while echoing it.

use std::time::Instant;

use super::verdict::StreamSummary;

#[derive(Clone, Debug)]
pub struct StreamMeter {
    clock_rate: f64,
    base_seq: Option<i64>,
    last_seq: u16,
    last_ext: i64,
    max_ext: i64,
    received: u64,
    bytes: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    last_ts: u32,
    last_arrival: Option<Instant>,
    /// In RTP timestamp units, as the RFC keeps it.
    jitter: f64,
}

impl StreamMeter {
    pub fn new(clock_rate: u32) -> StreamMeter {
        StreamMeter {
            clock_rate: f64::from(clock_rate.max(1)),
            base_seq: None,
            last_seq: 0,
            last_ext: 0,
            max_ext: 0,
            received: 0,
            bytes: 0,
            first_at: None,
            last_at: None,
            last_ts: 0,
            last_arrival: None,
            jitter: 0.0,
        }
    }

    pub fn on_packet(&mut self, seq: u16, timestamp: u32, bytes: usize, at: Instant) {
        let ext = match self.base_seq {
            None => {
                self.base_seq = Some(i64::from(seq));
                self.max_ext = i64::from(seq);
                i64::from(seq)
            }
            // The signed 16-bit difference handles wrap-around and reordering alike.
            Some(_) => self.last_ext + i64::from(seq.wrapping_sub(self.last_seq) as i16),
        };
        self.last_seq = seq;
        self.last_ext = ext;
        self.max_ext = self.max_ext.max(ext);
        self.received += 1;
        self.bytes += bytes as u64;
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        if let Some(prev) = self.last_arrival {
            let arrival = at.saturating_duration_since(prev).as_secs_f64() * self.clock_rate;
            let sent = f64::from(timestamp.wrapping_sub(self.last_ts) as i32);
            let d = (arrival - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_arrival = Some(at);
        self.last_ts = timestamp;
    }

    pub fn summary(&self) -> StreamSummary {
        let expected = match self.base_seq {
            Some(base) => (self.max_ext - base + 1).max(0) as u64,
            None => 0,
        };
        // Duplicates can make `received` exceed `expected`: that is no loss, not negative loss.
        let lost = expected.saturating_sub(self.received);
        let loss_pct = if expected == 0 {
            0.0
        } else {
            100.0 * lost as f64 / expected as f64
        };
        let secs = match (self.first_at, self.last_at) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        StreamSummary {
            packets_received: self.received,
            packets_lost: lost,
            loss_pct: round2(loss_pct),
            jitter_ms: round2(1000.0 * self.jitter / self.clock_rate),
            bitrate_kbps: if secs > 0.2 {
                round2(self.bytes as f64 * 8.0 / secs / 1000.0)
            } else {
                0.0
            },
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_loss_across_sequence_wrap_and_reordering() {
        let t0 = Instant::now();
        let mut m = StreamMeter::new(48_000);
        // 65530..=65535, 0..=9 with 2 and 5 missing and 7 arriving before 6.
        let mut seqs: Vec<u16> = (65530..=65535).collect();
        seqs.extend([0, 1, 3, 4, 7, 6, 8, 9]);
        for (i, s) in seqs.iter().enumerate() {
            let at = t0 + Duration::from_millis(20 * i as u64);
            m.on_packet(*s, 960 * i as u32, 125, at);
        }
        let s = m.summary();
        assert_eq!(s.packets_received, 14);
        assert_eq!(s.packets_lost, 2);
        assert!((s.loss_pct - 12.5).abs() < 0.01, "{}", s.loss_pct);
        // 14 × 125 bytes over 13 × 20 ms.
        assert!((s.bitrate_kbps - 53.85).abs() < 0.1, "{}", s.bitrate_kbps);
    }

    #[test]
    fn jitter_is_zero_for_a_steady_stream_and_grows_with_irregular_arrival() {
        let t0 = Instant::now();
        let mut steady = StreamMeter::new(90_000);
        let mut bumpy = StreamMeter::new(90_000);
        for i in 0..200u32 {
            let at = t0 + Duration::from_millis(33 * u64::from(i));
            steady.on_packet(i as u16, 2970 * i, 1000, at);
            let wobble = if i % 2 == 0 { 0 } else { 40 };
            bumpy.on_packet(i as u16, 2970 * i, 1000, at + Duration::from_millis(wobble));
        }
        assert!(steady.summary().jitter_ms < 0.01);
        let j = bumpy.summary().jitter_ms;
        assert!(j > 20.0 && j < 60.0, "{j}");
        assert_eq!(StreamMeter::new(8000).summary(), StreamSummary::default());
    }
}
