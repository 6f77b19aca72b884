//! Room tickets: short-lived, single-use credentials for the signalling socket. Browsers cannot
//! put a header on a WebSocket, so the ticket travels in the query string; it is worth little
//! there because it dies after one use or [`TTL_SECONDS`]. Kept in Postgres so that any node can
//! redeem it and "used" is decided by one atomic `UPDATE`.

use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::appointment::Status;
use crate::domain::ids::{AppointmentId, StaffId};
use crate::domain::participant::Role;

/// How long a ticket may wait to be redeemed. A client asks for one right before it opens the
/// socket, so a minute covers a slow phone while keeping a leaked ticket nearly worthless.
pub const TTL_SECONDS: i64 = 60;
/// Random bytes in a ticket (256 bits).
const TICKET_BYTES: usize = 32;
/// The longest string that could be a ticket (43 characters of base64url, with room to spare);
/// anything longer is refused before it reaches the database.
pub const MAX_TICKET_CHARS: usize = 64;
/// Expired tickets are deleted on roughly one creation in this many.
const PURGE_ONE_IN: u32 = 64;

/// A ticket's secret value (URL-safe base64, no padding).
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(String);

impl Ticket {
    fn generate() -> anyhow::Result<Ticket> {
        let mut bytes = [0u8; TICKET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        Ok(Ticket(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    /// Accepts only what [`Ticket::generate`] could have made.
    pub fn parse(raw: &str) -> Option<Ticket> {
        (!raw.is_empty()
            && raw.len() <= MAX_TICKET_CHARS
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Ticket(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticket(***)")
    }
}

/// A fresh ticket for `role` in the room of `appointment`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
    role: Role,
    staff: Option<StaffId>,
) -> anyhow::Result<(Ticket, DateTime<Utc>)> {
    if rand::random_ratio(1, PURGE_ONE_IN)
        && let Err(e) = purge_expired(conn).await
    {
        tracing::warn!(error = %e, "purging expired room tickets");
    }
    let ticket = Ticket::generate()?;
    #[derive(QueryableByName)]
    struct Created {
        #[diesel(sql_type = Timestamptz)]
        expires_at: DateTime<Utc>,
    }
    // The database's clock sets the expiry, as it is the one `redeem` compares against.
    let created: Created = diesel::sql_query(
        "INSERT INTO room_tickets (id, appointment_id, role, staff_id, expires_at) \
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING expires_at",
    )
    .bind::<Text, _>(ticket.expose())
    .bind::<SqlUuid, _>(appointment.0)
    .bind::<Text, _>(role.as_str())
    .bind::<Nullable<SqlUuid>, _>(staff.map(|s| s.0))
    .bind::<diesel::sql_types::Double, _>(TTL_SECONDS as f64)
    .get_result(conn)
    .await?;
    let expires_at = created.expires_at;
    Ok((ticket, expires_at))
}

/// An unexpired, unredeemed ticket of this person for this room with at least `min_left`
/// seconds to live, to hand out again instead of minting another row.
pub async fn reusable(
    conn: &mut AsyncPgConnection,
    appointment: AppointmentId,
    role: Role,
    staff: Option<StaffId>,
    min_left: i64,
) -> QueryResult<Option<(Ticket, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Timestamptz)]
        expires_at: DateTime<Utc>,
    }
    let found: Option<Found> = diesel::sql_query(
        "SELECT id, expires_at FROM room_tickets \
         WHERE appointment_id = $1 AND role = $2 AND staff_id IS NOT DISTINCT FROM $3 \
           AND used_at IS NULL AND expires_at > now() + make_interval(secs => $4) \
         ORDER BY expires_at DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(appointment.0)
    .bind::<Text, _>(role.as_str())
    .bind::<Nullable<SqlUuid>, _>(staff.map(|s| s.0))
    .bind::<diesel::sql_types::Double, _>(min_left as f64)
    .get_result(conn)
    .await
    .optional()?;
    Ok(found.map(|f| (Ticket(f.id), f.expires_at)))
}

/// What a redeemed ticket grants, with what the room needs to know about the appointment and
/// the person as of now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub appointment: AppointmentId,
    pub role: Role,
    pub staff: Option<StaffId>,
    pub status: Status,
    pub citizen_name: String,
    /// The name of the ticket's staff member (`None` for a citizen's ticket).
    pub staff_name: Option<String>,
}

/// Marks the ticket used and returns what it grants, or `None` when it is unknown, used or
/// expired. The `UPDATE` decides, so two sockets racing with the same ticket cannot both win.
/// (The signalling socket redeems through `signalling::redeemer`, in batches.)
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    ticket: &Ticket,
) -> QueryResult<Option<Redeemed>> {
    Ok(redeem_many(conn, &[ticket.expose()])
        .await?
        .into_iter()
        .next()
        .map(|(_, redeemed)| redeemed))
}

diesel::define_sql_function! {
    /// `loket_redeem_tickets(tickets)` (migration 2026-11-28-000005): one row per ticket it
    /// marked used.
    #[sql_name = "loket_redeem_tickets"]
    fn redeem_tickets(tickets: Array<Text>) -> diesel::pg::sql_types::Record<(
        Text,
        SqlUuid,
        Text,
        Nullable<SqlUuid>,
        Text,
        Text,
        Nullable<Text>,
    )>;
}

/// [`redeem`] for many tickets at once: the ones that are unknown, used or expired are left out
/// of the answer, which says which ticket (by its value) granted what. One `UPDATE` marks them
/// all used, so a ticket redeemed concurrently elsewhere, or named twice in `tickets`, is
/// answered at most once (Postgres updates, and returns, each row once), and the same statement
/// reads the appointments and staff names. It runs inside `loket_redeem_tickets`, a call the
/// connection prepares once (diesel would send a bare UPDATE to be parsed and planned anew
/// every time).
pub async fn redeem_many(
    conn: &mut AsyncPgConnection,
    tickets: &[&str],
) -> QueryResult<Vec<(String, Redeemed)>> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        String,
        Uuid,
        String,
        Option<Uuid>,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = diesel::select(redeem_tickets(tickets)).load(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, appointment, role, staff, status, citizen_name, staff_name)| {
                Some((
                    id,
                    Redeemed {
                        appointment: AppointmentId(appointment),
                        role: Role::parse(&role)?,
                        staff: staff.map(StaffId),
                        status: Status::parse(&status)?,
                        citizen_name,
                        staff_name,
                    },
                ))
            },
        )
        .collect())
}

/// Deletes tickets that expired over a minute ago (used or not): they can never be redeemed.
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM room_tickets WHERE expires_at < $1")
        .bind::<Timestamptz, _>(Utc::now() - chrono::Duration::seconds(60))
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_long_url_safe_and_parse_back() -> anyhow::Result<()> {
        let t = Ticket::generate()?;
        assert_eq!(t.expose().len(), 43);
        assert_eq!(Ticket::parse(t.expose()), Some(t.clone()));
        assert_ne!(Ticket::generate()?, t);
        assert_eq!(format!("{t:?}"), "Ticket(***)");
        for bad in ["", "a b", "a+b/c=", &"a".repeat(65), "tick%20et"] {
            assert!(Ticket::parse(bad).is_none(), "{bad}");
        }
        Ok(())
    }
}
