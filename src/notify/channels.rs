//! The configured channels: one adapter per way of reaching a citizen — the WhatsApp Business
//! Cloud API, SMTP email, an HTTP SMS gateway — each behind `sender::Sender`, or none when its
//! settings are missing (its messages are then `skipped`).

use std::sync::Arc;
use std::time::Duration;

use super::sender::{Sender, http_client};
use crate::config::NotifySettings;
use crate::domain::notify::Channel;

/// The configured adapters; a channel without settings is `None` (its messages are `skipped`).
#[derive(Clone, Default)]
pub struct Channels {
    pub whatsapp: Option<Arc<dyn Sender>>,
    pub email: Option<Arc<dyn Sender>>,
    pub sms: Option<Arc<dyn Sender>>,
}

impl Channels {
    pub fn from_settings(s: &NotifySettings) -> anyhow::Result<Channels> {
        let timeout = Duration::from_millis(s.send_timeout_ms);
        let http = http_client(timeout)?;
        Ok(Channels {
            whatsapp: s.whatsapp.clone().map(|w| {
                Arc::new(super::whatsapp::WhatsApp::new(w, http.clone())) as Arc<dyn Sender>
            }),
            email: match &s.smtp {
                Some(m) => Some(Arc::new(super::email::Email::new(m, timeout)?) as Arc<dyn Sender>),
                None => None,
            },
            sms: s
                .sms
                .clone()
                .map(|c| Arc::new(super::sms::Sms::new(c, http.clone())) as Arc<dyn Sender>),
        })
    }

    pub fn get(&self, c: Channel) -> Option<&Arc<dyn Sender>> {
        match c {
            Channel::Whatsapp => self.whatsapp.as_ref(),
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}
