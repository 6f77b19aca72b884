//! The audit trail of changes other than an appointment's (hours, leave, holidays, accounts,
//! catalogue): append-only, the database refuses updates.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::schema::audit_events;

pub async fn append(
    conn: &mut AsyncPgConnection,
    actor: &str,
    kind: &str,
    subject: &str,
    detail: Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::actor.eq(actor),
            audit_events::kind.eq(kind),
            audit_events::subject.eq(subject),
            audit_events::detail.eq(detail),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}
