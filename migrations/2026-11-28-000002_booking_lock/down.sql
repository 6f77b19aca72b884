DROP FUNCTION IF EXISTS loket_lock(text);
