-- Dedup by the rows themselves: a fact is stored under its event id, a registration under
-- its USCC, and re-deciding an unchanged enterprise changes nothing. The separate marks
-- cost a write per event (employment reports included, which awards does not keep).
DROP TABLE processed_events;
