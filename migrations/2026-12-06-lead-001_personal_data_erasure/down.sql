DROP INDEX appointments_erasable_idx;
ALTER TABLE appointments DROP COLUMN erased_at;
