//! The built-in TURN relay: the `turn` 0.17 server on UDP and TCP, switched on by
//! `LOKET_TURN_LISTEN`, relaying from a configured port range, accepting exactly the coturn
//! REST-API credentials Loket mints (so the same credentials work here and with a production
//! coturn), with per-credential quotas. See docs/precheck.md, "Built-in TURN relay".
//!
//! How clients learn about it: when `LOKET_TURN_URLS` is empty and the relay is on, startup puts
//! [`TurnRelay::urls`] into `Settings::turn_urls`, so every place that hands out ICE servers
//! (signalling's welcome, the pre-call check) offers it with no code of its own.

pub mod auth;
pub mod credentials;
pub mod tcp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::secret::Secret;

/// Settings of the built-in relay (`LOKET_TURN_*`).
#[derive(Clone, Debug)]
pub struct RelaySettings {
    /// `LOKET_TURN_LISTEN`: where to listen (UDP and TCP, same port). `None` = relay off.
    pub listen: Option<SocketAddr>,
    /// `LOKET_TURN_RELAY_PORTS`, e.g. `49160-49200`: the relayed sockets' port range.
    pub relay_ports: (u16, u16),
    /// `LOKET_TURN_RELAY_IP`: the address written into relayed candidates (the public one behind
    /// a 1:1 NAT). Default: the listen address; required when that is a wildcard.
    pub relay_ip: Option<IpAddr>,
    /// `LOKET_TURN_PUBLIC_HOST`: the host in the advertised `turn:` URLs. Default: the relay IP.
    pub public_host: Option<String>,
    /// `LOKET_TURN_REALM`.
    pub realm: String,
    /// `LOKET_TURN_MAX_ALLOCATIONS`: allocations one credential may hold at once.
    pub max_allocations_per_credential: usize,
    /// `LOKET_TURN_QUOTA_MB`: bytes one credential may relay (0 = no limit).
    pub max_mb_per_credential: u64,
    /// `LOKET_TURN_MAX_TCP`: simultaneous TCP clients.
    pub max_tcp_connections: usize,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            listen: None,
            relay_ports: (49160, 49200),
            relay_ip: None,
            public_host: None,
            realm: "loket".into(),
            max_allocations_per_credential: 4,
            max_mb_per_credential: 2048,
            max_tcp_connections: 1024,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}: cannot read {v:?}: {e}")),
    }
}

/// `49160-49200` → (49160, 49200), checked: unprivileged, ordered, at most 16384 ports.
pub fn parse_port_range(raw: &str) -> anyhow::Result<(u16, u16)> {
    let (a, b) = raw
        .trim()
        .split_once('-')
        .context("expected FROM-TO, e.g. 49160-49200")?;
    let (a, b): (u16, u16) = (
        a.trim().parse().context("FROM is not a port number")?,
        b.trim().parse().context("TO is not a port number")?,
    );
    if a < 1024 {
        bail!("the range must be within 1024-65535 (ports below 1024 are privileged)");
    }
    if b < a {
        bail!("the range must have FROM <= TO");
    }
    if b - a > 16_383 {
        bail!("the range must hold at most 16384 ports");
    }
    Ok((a, b))
}

impl RelaySettings {
    pub fn from_env() -> anyhow::Result<RelaySettings> {
        let d = RelaySettings::default();
        let s = RelaySettings {
            listen: env("LOKET_TURN_LISTEN")
                .map(|v| v.trim().parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("LOKET_TURN_LISTEN: {e}"))?,
            relay_ports: match env("LOKET_TURN_RELAY_PORTS") {
                Some(v) => parse_port_range(&v).context("LOKET_TURN_RELAY_PORTS")?,
                None => d.relay_ports,
            },
            relay_ip: env("LOKET_TURN_RELAY_IP")
                .map(|v| v.trim().parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("LOKET_TURN_RELAY_IP: {e}"))?,
            public_host: env("LOKET_TURN_PUBLIC_HOST"),
            realm: env("LOKET_TURN_REALM").unwrap_or(d.realm),
            max_allocations_per_credential: parse(
                "LOKET_TURN_MAX_ALLOCATIONS",
                d.max_allocations_per_credential,
            )?,
            max_mb_per_credential: parse("LOKET_TURN_QUOTA_MB", d.max_mb_per_credential)?,
            max_tcp_connections: parse("LOKET_TURN_MAX_TCP", d.max_tcp_connections)?,
        };
        if !(1..=64).contains(&s.max_allocations_per_credential) {
            bail!("LOKET_TURN_MAX_ALLOCATIONS must be 1..=64");
        }
        if !(1..=65_536).contains(&s.max_tcp_connections) {
            bail!("LOKET_TURN_MAX_TCP must be 1..=65536");
        }
        Ok(s)
    }
}

/// A running relay. Dropping it does not stop it: call [`TurnRelay::close`].
pub struct TurnRelay {
    server: Arc<turn::server::Server>,
    udp: SocketAddr,
    tcp: SocketAddr,
    relay_ip: IpAddr,
    public_host: Option<String>,
    auth: Arc<auth::RestAuth>,
    tcp_mux: Arc<tcp::TcpMux>,
    tasks: Vec<JoinHandle<()>>,
}

/// How often the quota books are reconciled with the server's allocations.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);

impl TurnRelay {
    /// Binds UDP and TCP on `settings.listen` (same port; port 0 picks one) and starts serving.
    pub async fn start(settings: &RelaySettings, secret: Secret) -> anyhow::Result<TurnRelay> {
        let listen = settings.listen.context("the built-in TURN relay is off")?;
        let (udp_sock, tcp_listener) = bind_pair(listen).await?;
        let udp = udp_sock.local_addr()?;
        let tcp = tcp_listener.local_addr()?;
        let relay_ip = match settings.relay_ip {
            Some(ip) => ip,
            None if !listen.ip().is_unspecified() => listen.ip(),
            None => bail!(
                "LOKET_TURN_LISTEN is a wildcard address: set LOKET_TURN_RELAY_IP to the address \
                 clients reach this machine at"
            ),
        };
        let bind_ip = if listen.ip().is_unspecified() {
            listen.ip()
        } else {
            relay_ip
        };
        let auth = Arc::new(auth::RestAuth::new(
            secret,
            settings.max_allocations_per_credential,
        ));
        let tcp_mux = tcp::TcpMux::start(
            tcp_listener,
            settings.max_tcp_connections,
            Duration::from_secs(15 * 60),
        );
        let generator = |ip: IpAddr| -> Box<dyn turn::relay::RelayAddressGenerator + Send + Sync> {
            Box::new(turn::relay::relay_range::RelayAddressGeneratorRanges {
                relay_address: relay_ip,
                min_port: settings.relay_ports.0,
                max_port: settings.relay_ports.1,
                // Random picks in the range; more tries so a busy range still finds a port.
                max_retries: 40,
                address: ip.to_string(),
                net: Arc::new(webrtc_util::vnet::net::Net::new(None)),
            })
        };
        let (close_tx, mut close_rx) = mpsc::channel::<turn::allocation::AllocationInfo>(1024);
        let server = turn::server::Server::new(turn::server::config::ServerConfig {
            conn_configs: vec![
                turn::server::config::ConnConfig {
                    conn: Arc::new(udp_sock),
                    relay_addr_generator: generator(bind_ip),
                },
                turn::server::config::ConnConfig {
                    conn: tcp_mux.clone(),
                    relay_addr_generator: generator(bind_ip),
                },
            ],
            realm: settings.realm.clone(),
            auth_handler: Arc::new(auth::Handler(Arc::clone(&auth))),
            channel_bind_timeout: Duration::from_secs(0),
            alloc_close_notify: Some(close_tx),
        })
        .await
        .context("starting the TURN server")?;
        let server = Arc::new(server);

        let mut tasks = Vec::new();
        let released = Arc::clone(&auth);
        tasks.push(tokio::spawn(async move {
            while let Some(info) = close_rx.recv().await {
                released.released(&info.username, info.five_tuple.src_addr);
            }
        }));
        let (srv, books) = (Arc::clone(&server), Arc::clone(&auth));
        let max_bytes = settings.max_mb_per_credential.saturating_mul(1 << 20);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            loop {
                tick.tick().await;
                let Ok(infos) = srv.get_allocations_info(None).await else {
                    break;
                };
                let live: Vec<_> = infos
                    .values()
                    .map(|i| (i.username.clone(), i.five_tuple.src_addr, i.relayed_bytes))
                    .collect();
                let over = books.reconcile(
                    &live,
                    max_bytes,
                    RECONCILE_EVERY * 2,
                    credentials::now_unix(),
                );
                for user in over {
                    tracing::warn!("turn: a credential went over its byte quota; closing it");
                    let _ = srv.delete_allocations_by_username(user).await;
                }
            }
        }));
        tracing::info!(%udp, %tcp, %relay_ip, ports = ?settings.relay_ports, "built-in TURN relay listening");
        Ok(TurnRelay {
            server,
            udp,
            tcp,
            relay_ip,
            public_host: settings.public_host.clone(),
            auth,
            tcp_mux,
            tasks,
        })
    }

    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The `turn:` URLs clients should use: UDP first, then TCP (for networks that block UDP).
    pub fn urls(&self) -> Vec<String> {
        let host = match &self.public_host {
            Some(h) => h.clone(),
            None => match self.relay_ip {
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            },
        };
        vec![
            format!("turn:{host}:{}?transport=udp", self.udp.port()),
            format!("turn:{host}:{}?transport=tcp", self.tcp.port()),
        ]
    }

    /// Live allocations right now.
    pub async fn allocations(&self) -> usize {
        self.server
            .get_allocations_info(None)
            .await
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Requests refused for `reason` so far (the client sees the same STUN error for all).
    pub fn refusals(&self, reason: auth::Refusal) -> u64 {
        self.auth.refusals(reason)
    }

    /// Open TCP client connections right now.
    pub fn tcp_connections(&self) -> usize {
        self.tcp_mux.connections()
    }

    /// Stops listening and frees every allocation and socket.
    pub async fn close(&self) {
        let _ = self.server.close().await;
        self.tcp_mux.shutdown();
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.auth.tracked();
    }
}

/// The ICE server URLs to advertise: the configured external ones, or the built-in relay's.
/// Startup calls this once and stores the result in `Settings::turn_urls`.
pub fn advertised_urls(configured: &[String], relay: Option<&TurnRelay>) -> Vec<String> {
    match relay {
        Some(r) if configured.is_empty() => r.urls(),
        _ => configured.to_vec(),
    }
}

/// Binds UDP and TCP to the same port: the configured one, or (for port 0) the first free pair.
async fn bind_pair(
    listen: SocketAddr,
) -> anyhow::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    for _ in 0..20 {
        let udp = tokio::net::UdpSocket::bind(listen)
            .await
            .with_context(|| format!("binding TURN UDP {listen}"))?;
        let mut at = listen;
        at.set_port(udp.local_addr()?.port());
        match tokio::net::TcpListener::bind(at).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() != 0 => {
                return Err(e).with_context(|| format!("binding TURN TCP {at}"));
            }
            Err(_) => continue,
        }
    }
    bail!("no port free for both UDP and TCP near {listen}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_checked() {
        assert_eq!(parse_port_range("49160-49200").unwrap(), (49160, 49200));
        assert_eq!(parse_port_range(" 50000 - 50000 ").unwrap(), (50000, 50000));
        // The edges: 1024 is the first allowed port, 16384 ports the most.
        assert_eq!(parse_port_range("1024-17407").unwrap(), (1024, 17407));
        assert_eq!(parse_port_range("49152-65535").unwrap(), (49152, 65535));
        for (bad, why) in [
            ("", "expected FROM-TO"),
            ("49160", "expected FROM-TO"),
            ("a-b", "FROM is not a port number"),
            ("49160-x", "TO is not a port number"),
            ("49160-70000", "TO is not a port number"),
            ("80-90", "ports below 1024"),
            ("1023-2000", "ports below 1024"),
            ("50000-49999", "FROM <= TO"),
            ("1024-65535", "at most 16384 ports"),
            ("1024-17408", "at most 16384 ports"),
        ] {
            let e = parse_port_range(bad).expect_err(bad);
            assert!(e.to_string().contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn external_urls_win_over_the_builtin_relay() {
        let ext = vec!["turn:turn.example:3478".to_string()];
        assert_eq!(advertised_urls(&ext, None), ext);
        assert!(advertised_urls(&[], None).is_empty());
    }

    /// With the built-in relay running: configured URLs still win; without them the relay's own
    /// are advertised, UDP then TCP, on its address (or its public host name).
    #[tokio::test]
    async fn the_builtin_relay_is_advertised_only_when_no_url_is_configured() {
        let mut settings = RelaySettings {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Default::default()
        };
        let relay = TurnRelay::start(&settings, Secret::new("s")).await.unwrap();
        let ext = vec!["turn:turn.example:3478".to_string()];
        assert_eq!(advertised_urls(&ext, Some(&relay)), ext);
        let (udp, tcp) = (relay.udp_addr().port(), relay.tcp_addr().port());
        assert_eq!(udp, tcp, "one port for both");
        assert_eq!(
            advertised_urls(&[], Some(&relay)),
            vec![
                format!("turn:127.0.0.1:{udp}?transport=udp"),
                format!("turn:127.0.0.1:{tcp}?transport=tcp"),
            ]
        );
        relay.close().await;
        settings.public_host = Some("turn.loket.example".into());
        let named = TurnRelay::start(&settings, Secret::new("s")).await.unwrap();
        let port = named.udp_addr().port();
        assert_eq!(
            advertised_urls(&[], Some(&named)),
            vec![
                format!("turn:turn.loket.example:{port}?transport=udp"),
                format!("turn:turn.loket.example:{port}?transport=tcp"),
            ]
        );
        named.close().await;
    }
}
