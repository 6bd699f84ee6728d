-- Every batch adds to the same few counter rows (today's, per metric and prefecture). At
-- the default fillfactor of 100 the pages are full, so each update wrote its new row
-- version on another page plus a new entry in the primary key. Room left on every page
-- lets the update stay on its page (a HOT update: no index entry, pruned in place).
-- Pages written before this keep their layout until rows move or a VACUUM FULL.
ALTER TABLE daily_counters SET (fillfactor = 70);
ALTER TABLE monthly_counters SET (fillfactor = 70);
