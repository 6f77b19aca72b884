//! JSON shapes shared by several endpoints (DESIGN §5 "Shapes and small rules").

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::appointments::AppointmentView;
use crate::db::catalog::{Agency, Service};
use crate::db::outbox::Notice;
use crate::domain::appointment::Status;
use crate::domain::citizen::Phone;
use crate::domain::notify::{Channel, Delivery, Kind};

#[derive(Serialize, ToSchema)]
pub struct AgencyOut {
    pub slug: String,
    pub name: String,
    pub name_en: String,
    #[schema(value_type = String, example = "city")]
    pub kind: String,
}

impl From<&Agency> for AgencyOut {
    fn from(a: &Agency) -> Self {
        AgencyOut {
            slug: a.slug.clone(),
            name: a.name.clone(),
            name_en: a.name_en.clone(),
            kind: a.kind.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgencyRef {
    pub slug: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceSummary {
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub agency: AgencyRef,
    pub duration_minutes: i32,
    pub needs_nik: bool,
    /// In a search result found through a name the service had before ("IMB" for PBG): that
    /// name, for "dulu: IMB" / "formerly IMB".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formerly: Option<String>,
    /// In a search result found through another alias (an abbreviation, an everyday word): that
    /// alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_alias: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDetail {
    pub slug: String,
    pub name: String,
    pub name_en: String,
    pub agency: AgencyRef,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub needs_nik: bool,
    pub requirements: Vec<String>,
    pub aliases: Vec<String>,
    /// The requirements in English, line by line; empty where the catalogue has none (show
    /// `requirements` then, marked as Indonesian).
    pub requirements_en: Vec<String>,
    /// Names the service had before (a subset of what search knows it by).
    pub former_names: Vec<String>,
}

fn agency_ref(a: &Agency) -> AgencyRef {
    AgencyRef {
        slug: a.slug.clone(),
        name: a.name.clone(),
        name_en: a.name_en.clone(),
    }
}

pub fn service_summary(s: &Service, a: &Agency) -> ServiceSummary {
    ServiceSummary {
        slug: s.slug.clone(),
        name: s.name.clone(),
        name_en: s.name_en.clone(),
        agency: agency_ref(a),
        duration_minutes: s.duration_minutes,
        needs_nik: s.needs_nik,
        formerly: None,
        matched_alias: None,
    }
}

pub fn service_detail(s: &Service, a: &Agency) -> ServiceDetail {
    ServiceDetail {
        slug: s.slug.clone(),
        name: s.name.clone(),
        name_en: s.name_en.clone(),
        agency: agency_ref(a),
        duration_minutes: s.duration_minutes,
        buffer_minutes: s.buffer_minutes,
        needs_nik: s.needs_nik,
        requirements: s.requirements.clone(),
        aliases: s.aliases.clone(),
        requirements_en: s.requirements_en.clone(),
        former_names: s.former_names.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceRef {
    pub slug: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClerkRef {
    pub name: String,
}

/// What a citizen sees of their appointment.
#[derive(Serialize, ToSchema)]
pub struct AppointmentOut {
    pub id: uuid::Uuid,
    pub code: String,
    pub status: Status,
    pub service: ServiceRef,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub clerk: ClerkRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik_masked: Option<String>,
    /// Leave or a holiday took this time: pick a new one (`GET …/current/offers`).
    pub needs_new_time: bool,
    /// While `held`: when the hold ends unless confirmed with the code sent to the phone
    /// (`POST …/current/confirm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// While `held`: where the code went (`+62812****7890`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_sent_to: Option<String>,
    /// The messages Loket sent (or will send) about this booking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Vec<NoticeOut>>,
}

/// One message about a booking and where it is.
#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    pub kind: Kind,
    pub channel: Channel,
    pub status: Delivery,
    /// When it reached this status.
    pub at: DateTime<Utc>,
}

pub fn notices_out(notices: &[Notice]) -> Vec<NoticeOut> {
    notices
        .iter()
        .filter_map(|n| {
            Some(NoticeOut {
                kind: Kind::parse(&n.kind)?,
                channel: Channel::parse(&n.channel)?,
                status: Delivery::parse(&n.status)?,
                at: n.at,
            })
        })
        .collect()
}

pub fn appointment_out(v: &AppointmentView) -> AppointmentOut {
    let a = &v.appointment;
    AppointmentOut {
        id: a.id,
        code: a.code.clone(),
        status: a.status(),
        service: ServiceRef {
            slug: v.service_slug.clone(),
            name: v.service_name.clone(),
            name_en: v.service_name_en.clone(),
        },
        starts_at: a.starts_at(),
        ends_at: a.ends_at,
        clerk: ClerkRef {
            name: v.clerk_name.clone(),
        },
        nik_masked: a.nik_masked.clone(),
        needs_new_time: a.needs_new_time_since.is_some(),
        hold_expires_at: a.hold_expires_at,
        code_sent_to: a
            .hold_expires_at
            .and(a.citizen_phone.as_deref())
            .map(crate::notify::masked_address),
        notifications: None,
    }
}

#[derive(Serialize, ToSchema)]
pub struct CitizenOut {
    pub name: String,
    /// Absent only for a walk-in who gave no number at the kiosk.
    pub phone: Option<String>,
    pub phone_display: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik_masked: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffRef {
    pub id: uuid::Uuid,
    pub name: String,
}

/// What staff see: the appointment plus the citizen's contact details and notes.
#[derive(Serialize, ToSchema)]
pub struct StaffAppointmentOut {
    pub id: uuid::Uuid,
    pub code: String,
    pub status: Status,
    pub service: ServiceRef,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub citizen: CitizenOut,
    pub clerk: StaffRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// When the appointment last changed (for a `no_show`: when it was recorded, so the page
    /// knows until when it can be undone).
    pub updated_at: DateTime<Utc>,
    /// The citizen's last pre-call check, if they ran one (list endpoint only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precheck: Option<PrecheckSummary>,
    /// Leave or a holiday took this time and the citizen has not picked a new one yet.
    pub needs_new_time: bool,
    /// While `held`: when the hold ends unless the citizen confirms it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// The messages about this booking (list and single views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Vec<NoticeOut>>,
}

/// What the clerk sees of a citizen's last pre-call check.
#[derive(Serialize, ToSchema)]
pub struct PrecheckSummary {
    pub verdict: crate::precheck::verdict::Verdict,
    /// Reason codes, worst first (translated as `precheck.reason.<code>`).
    pub reasons: Vec<crate::precheck::verdict::Reason>,
    /// How the citizen's traffic reached Loket (`relay` = through TURN), if it connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<crate::precheck::verdict::PathInfo>,
    pub finished_at: DateTime<Utc>,
}

pub fn precheck_summary(p: &crate::db::prechecks::StoredPrecheck) -> Option<PrecheckSummary> {
    let r: crate::precheck::PrecheckResult = serde_json::from_value(p.result.clone()).ok()?;
    Some(PrecheckSummary {
        verdict: r.verdict,
        reasons: r.reasons.iter().map(|x| x.code).collect(),
        path: r.measurements.path,
        finished_at: r.finished_at,
    })
}

pub fn staff_appointment_out(v: &AppointmentView) -> StaffAppointmentOut {
    let a = &v.appointment;
    StaffAppointmentOut {
        id: a.id,
        code: a.code.clone(),
        status: a.status(),
        service: ServiceRef {
            slug: v.service_slug.clone(),
            name: v.service_name.clone(),
            name_en: v.service_name_en.clone(),
        },
        starts_at: a.starts_at(),
        ends_at: a.ends_at,
        citizen: CitizenOut {
            name: a.citizen_name.clone(),
            phone: a.citizen_phone.clone(),
            phone_display: a.citizen_phone.as_deref().map(|raw| {
                Phone::from_e164(raw)
                    .map(|p| p.display())
                    .unwrap_or_else(|| raw.to_string())
            }),
            email: a.citizen_email.clone(),
            nik_masked: a.nik_masked.clone(),
        },
        clerk: StaffRef {
            id: a.staff_id,
            name: v.clerk_name.clone(),
        },
        notes: a.notes.clone(),
        updated_at: a.updated_at,
        precheck: None,
        needs_new_time: a.needs_new_time_since.is_some(),
        hold_expires_at: a.hold_expires_at,
        notifications: None,
    }
}
