DROP TRIGGER IF EXISTS appointments_booked_event ON appointments;
DROP FUNCTION IF EXISTS appointments_booked_event();
DROP FUNCTION IF EXISTS loket_booking_guard(text, uuid);
DROP FUNCTION IF EXISTS loket_lock(text);
