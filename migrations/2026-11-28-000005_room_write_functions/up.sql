-- The two statements every socket join costs — redeeming its ticket and moving its
-- appointment to `waiting` — as functions, for the same reason as `loket_book`: diesel never
-- keeps an UPDATE (nor any `sql_query`) as a prepared statement, so each batch paid a Parse
-- round trip and Postgres parsed and planned a six-table CTE again; with thousands of sockets
-- joining at once that planning was most of Postgres's work. A call is prepared once per
-- connection and PL/pgSQL keeps its inner plan for the session.

-- Marks the named tickets used — those that exist, are unused and unexpired — and returns
-- what each grants, with the appointment's status and names as of now: one statement (the
-- ticket's single use is decided by the UPDATE, as before).
CREATE FUNCTION loket_redeem_tickets(p_tickets text[])
RETURNS TABLE (r_ticket text, r_appointment uuid, r_role text, r_staff uuid, r_status text,
               r_citizen_name text, r_staff_name text)
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    RETURN QUERY
    WITH used AS (
        UPDATE room_tickets t SET used_at = now()
         WHERE t.id = ANY(p_tickets) AND t.used_at IS NULL AND t.expires_at > now()
        RETURNING t.id, t.appointment_id, t.role, t.staff_id)
    SELECT u.id, u.appointment_id, u.role, u.staff_id, a.status, a.citizen_name, s.name
      FROM used u
      JOIN appointments a ON a.id = u.appointment_id
      LEFT JOIN staff s ON s.id = u.staff_id;
END
$$;

-- Room status changes, many at once (src/db/appointments.rs `transition_many`): each row is
-- locked in id order, moved only if its status as of the lock may become the new one
-- (`p_froms`: the allowed starting statuses, comma-separated), and gets its audit event.
CREATE FUNCTION loket_transition_many(p_ids uuid[], p_tos text[], p_actors text[], p_froms text[])
RETURNS TABLE (r_id uuid, r_staff uuid, r_status text)
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    RETURN QUERY
    WITH v AS (SELECT * FROM unnest(p_ids, p_tos, p_actors, p_froms)
                   AS v(id, to_status, actor, from_ok)),
         old AS (SELECT a.id, a.status FROM appointments a JOIN v ON v.id = a.id
                  ORDER BY a.id FOR UPDATE OF a),
         u AS (UPDATE appointments a SET status = v.to_status, updated_at = now()
                FROM old JOIN v ON v.id = old.id
               WHERE a.id = old.id AND old.status = ANY(string_to_array(v.from_ok, ','))
               RETURNING a.id, a.staff_id, a.status, v.actor, old.status AS from_status),
         e AS (INSERT INTO appointment_events (appointment_id, kind, actor, detail)
               SELECT u.id, u.status, u.actor,
                      jsonb_build_object('from', u.from_status, 'to', u.status) FROM u)
    SELECT u.id, u.staff_id, u.status FROM u;
END
$$;
