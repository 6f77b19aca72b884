//! ICE servers handed to clients: STUN/TURN URLs from configuration, and TURN credentials in
//! coturn's REST-API form (`use-auth-secret`), so a stock coturn needs no user database:
//! username = `<unix expiry>:<participant id>`, credential = base64(HMAC-SHA1(secret, username)).

use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::ids::AppointmentId;
use crate::domain::participant::ParticipantId;

/// One entry of `RTCConfiguration.iceServers`, exactly as a browser takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The ICE servers for one participant at `now_unix` (seconds): STUN without credentials, TURN
/// with a credential valid for `turn_ttl_seconds`. TURN is left out when no secret is set
/// (configuration refuses TURN URLs without one).
pub fn servers(settings: &Settings, participant: &ParticipantId, now_unix: i64) -> Vec<IceServer> {
    servers_for(settings, participant.as_str(), now_unix)
}

/// The ICE servers for a pre-call check of `appointment`: its TURN credential names the check,
/// not a room participant.
pub fn precheck_servers(
    settings: &Settings,
    appointment: AppointmentId,
    now_unix: i64,
) -> Vec<IceServer> {
    servers_for(
        settings,
        &format!("precheck-{}", appointment.0.simple()),
        now_unix,
    )
}

/// STUN, and TURN with a credential for `who`.
fn servers_for(settings: &Settings, who: &str, now_unix: i64) -> Vec<IceServer> {
    let mut out = Vec::with_capacity(2);
    if !settings.stun_urls.is_empty() {
        out.push(IceServer {
            urls: settings.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (settings.turn_urls.is_empty(), &settings.turn_secret) {
        // The same minting the built-in relay verifies (src/turn/credentials.rs).
        let (username, credential) = crate::turn::credentials::mint(
            secret.expose(),
            who,
            now_unix,
            settings.turn_ttl_seconds,
        );
        out.push(IceServer {
            urls: settings.turn_urls.clone(),
            credential: Some(credential),
            username: Some(username),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn credential_matches_an_independent_hmac_sha1() {
        // `echo -n "1700000000:citizen-0123456789ab" | openssl dgst -sha1 -hmac
        //  "loket-turn-secret" -binary | base64`
        assert_eq!(
            crate::turn::credentials::credential(
                "loket-turn-secret",
                "1700000000:citizen-0123456789ab"
            ),
            "Fnaqw+uvTuASYVWFgx564Le0od4="
        );
    }

    #[test]
    fn servers_carry_stun_and_time_limited_turn() {
        let mut s = Settings::for_tests(std::env::temp_dir());
        let who = ParticipantId::citizen(AppointmentId(uuid::Uuid::nil()));
        assert!(servers(&s, &who, 0).is_empty(), "nothing configured");
        s.stun_urls = vec!["stun:stun.example:3478".into()];
        s.turn_urls = vec![
            "turn:turn.example:3478?transport=udp".into(),
            "turns:turn.example:443?transport=tcp".into(),
        ];
        s.turn_secret = Some(Secret::new("loket-turn-secret"));
        s.turn_ttl_seconds = 600;
        let list = servers(&s, &who, 1_700_000_000);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].urls, s.stun_urls);
        assert_eq!(list[0].username, None);
        let turn = &list[1];
        let username = format!("1700000600:{who}");
        assert_eq!(turn.username.as_deref(), Some(username.as_str()));
        assert_eq!(
            turn.credential.as_deref(),
            Some(crate::turn::credentials::credential("loket-turn-secret", &username).as_str())
        );
        let json = serde_json::to_value(&list[0]).map_err(|e| e.to_string());
        assert_eq!(
            json,
            Ok(serde_json::json!({"urls": ["stun:stun.example:3478"]}))
        );
    }
}
