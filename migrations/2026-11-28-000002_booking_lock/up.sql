-- A transaction-scoped advisory lock on a text key, as a function that returns a value, so the
-- booking path can call it through the query builder (prepared once per connection) instead of
-- raw SQL that Postgres plans again on every call.
CREATE FUNCTION loket_lock(key text) RETURNS boolean
    LANGUAGE sql VOLATILE
    AS $$ SELECT true FROM (SELECT pg_advisory_xact_lock(hashtextextended(key, 0))) AS locked $$;
