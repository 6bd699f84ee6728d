-- The region's figure is read as the sum of every prefecture's counters: the region-wide
-- rows ('*') each increment wrote a second time go.
DELETE FROM daily_counters WHERE prefecture = '*';
DELETE FROM monthly_counters WHERE prefecture = '*';
