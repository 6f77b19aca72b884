DROP FUNCTION loket_transition_many(uuid[], text[], text[], text[]);
DROP FUNCTION loket_redeem_tickets(text[]);
