// @generated shape of `diesel print-schema` for migrations/; keep it in step with them.

diesel::table! {
    agencies (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        name_en -> Text,
        kind -> Text,
        created_at -> Timestamptz,
        queue_prefix -> Text,
    }
}

diesel::table! {
    appointment_events (id) {
        id -> Int8,
        appointment_id -> Uuid,
        at -> Timestamptz,
        kind -> Text,
        actor -> Text,
        detail -> Jsonb,
    }
}

diesel::table! {
    appointments (id) {
        id -> Uuid,
        code -> Text,
        service_id -> Uuid,
        staff_id -> Uuid,
        period -> Tstzrange,
        ends_at -> Timestamptz,
        status -> Text,
        citizen_name -> Text,
        citizen_phone -> Nullable<Text>,
        citizen_email -> Nullable<Text>,
        nik_cipher -> Nullable<Bytea>,
        nik_last4 -> Nullable<Text>,
        nik_masked -> Nullable<Text>,
        nik_hash -> Nullable<Bytea>,
        notes -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        active -> Bool,
        erased_at -> Nullable<Timestamptz>,
        lang -> Text,
        needs_new_time_since -> Nullable<Timestamptz>,
        kind -> Text,
        hold_expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    booking_holds (appointment_id) {
        appointment_id -> Uuid,
        code_hash -> Bytea,
        code_expires_at -> Timestamptz,
        tries -> Int4,
        sends -> Int4,
        last_sent_at -> Timestamptz,
        ended -> Nullable<Text>,
        ended_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        subject_kind -> Text,
        subject_id -> Uuid,
        kind -> Text,
        channel -> Text,
        round -> Int4,
        address -> Text,
        lang -> Text,
        params -> Jsonb,
        status -> Text,
        status_at -> Timestamptz,
        due_at -> Timestamptz,
        attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
        provider_id -> Nullable<Text>,
        preview -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_attempts (id) {
        id -> Int8,
        outbox_id -> Uuid,
        at -> Timestamptz,
        outcome -> Text,
        detail -> Nullable<Text>,
        took_ms -> Nullable<Int4>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Uuid,
        appointment_id -> Uuid,
        code_hash -> Bytea,
        expires_at -> Timestamptz,
        tries -> Int4,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    closures (id) {
        id -> Uuid,
        staff_id -> Nullable<Uuid>,
        period -> Tstzrange,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    loket_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    prechecks (appointment_id) {
        appointment_id -> Uuid,
        check_id -> Uuid,
        verdict -> Text,
        result -> Jsonb,
        finished_at -> Timestamptz,
    }
}

diesel::table! {
    room_tickets (id) {
        id -> Text,
        appointment_id -> Uuid,
        role -> Text,
        staff_id -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    services (id) {
        id -> Uuid,
        agency_id -> Uuid,
        slug -> Text,
        name -> Text,
        name_en -> Text,
        aliases -> Array<Text>,
        duration_minutes -> Int4,
        buffer_minutes -> Int4,
        requirements -> Array<Text>,
        needs_nik -> Bool,
        active -> Bool,
        created_at -> Timestamptz,
        requirements_en -> Array<Text>,
        former_names -> Array<Text>,
        queue_daily_cap -> Nullable<Int4>,
    }
}

diesel::table! {
    staff (id) {
        id -> Uuid,
        agency_id -> Nullable<Uuid>,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        calendar_key -> Text,
        session_epoch -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    staff_services (staff_id, service_id) {
        staff_id -> Uuid,
        service_id -> Uuid,
    }
}

diesel::table! {
    surveys (appointment_id) {
        appointment_id -> Uuid,
        answers -> Array<Int2>,
        comment -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    weekly_hours (staff_id, weekday, starts) {
        staff_id -> Uuid,
        weekday -> Int2,
        starts -> Time,
        ends -> Time,
    }
}

diesel::table! {
    queue_counters (agency_id, day) {
        agency_id -> Uuid,
        day -> Date,
        last_seq -> Int4,
    }
}

diesel::table! {
    queue_tickets (id) {
        id -> Uuid,
        agency_id -> Uuid,
        service_id -> Uuid,
        day -> Date,
        seq -> Int4,
        mode -> Text,
        state -> Text,
        priority_group -> Nullable<Text>,
        citizen_name -> Text,
        citizen_phone -> Nullable<Text>,
        appointment_id -> Nullable<Uuid>,
        staff_id -> Nullable<Uuid>,
        counter -> Nullable<Text>,
        calls -> Int2,
        taken_at -> Timestamptz,
        called_at -> Nullable<Timestamptz>,
        last_called_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        near_notified_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(appointment_events -> appointments (appointment_id));
diesel::joinable!(appointments -> services (service_id));
diesel::joinable!(booking_holds -> appointments (appointment_id));
diesel::joinable!(appointments -> staff (staff_id));
diesel::joinable!(closures -> staff (staff_id));
diesel::joinable!(outbox_attempts -> outbox (outbox_id));
diesel::joinable!(prechecks -> appointments (appointment_id));
diesel::joinable!(queue_counters -> agencies (agency_id));
diesel::joinable!(queue_tickets -> agencies (agency_id));
diesel::joinable!(queue_tickets -> appointments (appointment_id));
diesel::joinable!(queue_tickets -> services (service_id));
diesel::joinable!(queue_tickets -> staff (staff_id));
diesel::joinable!(recovery_codes -> appointments (appointment_id));
diesel::joinable!(room_tickets -> appointments (appointment_id));
diesel::joinable!(services -> agencies (agency_id));
diesel::joinable!(staff -> agencies (agency_id));
diesel::joinable!(staff_services -> services (service_id));
diesel::joinable!(staff_services -> staff (staff_id));
diesel::joinable!(surveys -> appointments (appointment_id));
diesel::joinable!(weekly_hours -> staff (staff_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    appointment_events,
    appointments,
    booking_holds,
    closures,
    loket_meta,
    outbox,
    outbox_attempts,
    recovery_codes,
    prechecks,
    queue_counters,
    queue_tickets,
    room_tickets,
    services,
    staff,
    staff_services,
    surveys,
    weekly_hours,
);

diesel::table! {
    audit_events (id) {
        id -> Int8,
        at -> Timestamptz,
        actor -> Text,
        kind -> Text,
        subject -> Text,
        detail -> Jsonb,
    }
}
