//! Email over SMTP (lettre, rustls with ring): plain text and HTML, the calendar file attached
//! to booking messages. The Message-ID is made of the outbox id, so a copy sent again after a
//! crash threads with (and in most mail clients collapses into) the first.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::sender::{Outgoing, Sender};
use crate::config::SmtpSettings;
use crate::domain::notify::SendResult;

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Email {
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> anyhow::Result<Email> {
        super::sender::install_tls_provider();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose())
            .map_err(|e| anyhow::anyhow!("LOKET_SMTP_URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("LOKET_MAIL_FROM: {e}"))?;
        Ok(Email { transport, from })
    }
}

/// The text as simple HTML: paragraphs, line breaks, links made clickable, everything escaped.
pub fn html(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let line = |l: &str| {
        l.split(' ')
            .map(|w| {
                if w.starts_with("https://") || w.starts_with("http://") {
                    format!("<a href=\"{0}\">{0}</a>", escape(w))
                } else {
                    escape(w)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| {
            format!(
                "<p>{}</p>",
                p.lines().map(line).collect::<Vec<_>>().join("<br>\n")
            )
        })
        .collect();
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">{}</body></html>",
        paragraphs.join("\n")
    )
}

#[async_trait::async_trait]
impl Sender for Email {
    async fn send(&self, m: &Outgoing<'_>) -> SendResult {
        let to: Mailbox = match m.to.parse() {
            Ok(t) => t,
            Err(_) => return SendResult::Permanent("invalid address".into()),
        };
        let body =
            MultiPart::alternative_plain_html(m.rendered.text.clone(), html(&m.rendered.text));
        let body = match m.ics {
            Some(ics) => MultiPart::mixed().multipart(body).singlepart(
                Attachment::new("loket.ics".into()).body(
                    ics.to_string(),
                    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                        .unwrap_or(ContentType::TEXT_PLAIN),
                ),
            ),
            None => body,
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.rendered.title.clone())
            .message_id(Some(format!("<{}@loket>", m.id)))
            .multipart(body);
        let message = match message {
            Ok(msg) => msg,
            Err(e) => return SendResult::Permanent(format!("cannot build the email: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => SendResult::Accepted { provider_id: None },
            Err(e) if e.is_permanent() => SendResult::Permanent(short(&e)),
            Err(e) => SendResult::Transient(short(&e)),
        }
    }
}

fn short(e: &lettre::transport::smtp::Error) -> String {
    e.to_string().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_escapes_and_links() {
        let h = super::html("Halo <Budi>\nGabung: https://x.test/join#t=a&b\n\nSampai jumpa");
        assert!(h.contains("Halo &lt;Budi&gt;<br>"));
        assert!(h.contains("<a href=\"https://x.test/join#t=a&amp;b\">"));
        assert!(h.contains("<p>Sampai jumpa</p>"));
    }
}
