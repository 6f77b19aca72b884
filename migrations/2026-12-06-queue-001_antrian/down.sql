DROP TABLE queue_tickets;
DROP TABLE queue_counters;
DROP TRIGGER appointments_booked_event ON appointments;
CREATE TRIGGER appointments_booked_event AFTER INSERT ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_booked_event();
DELETE FROM appointments WHERE kind = 'walk_in';
ALTER TABLE appointments DROP CONSTRAINT appointments_phone_unless_walk_in;
ALTER TABLE appointments ALTER COLUMN citizen_phone SET NOT NULL;
ALTER TABLE appointments DROP COLUMN kind;
ALTER TABLE services DROP COLUMN queue_daily_cap;
DROP TRIGGER agencies_queue_prefix ON agencies;
DROP FUNCTION agencies_queue_prefix();
DROP FUNCTION loket_free_queue_prefix();
ALTER TABLE agencies DROP COLUMN queue_prefix;
