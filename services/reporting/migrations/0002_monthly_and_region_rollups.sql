-- Faster reads at province scale: a region-wide row ('*') beside the per-prefecture rows,
-- and monthly rollups, so "as of E" sums whole months plus the days of E's month.
CREATE TABLE monthly_counters (
    metric text NOT NULL,
    cohort integer NOT NULL,
    prefecture text NOT NULL,
    month date NOT NULL,
    value bigint NOT NULL,
    PRIMARY KEY (metric, cohort, prefecture, month)
);

INSERT INTO daily_counters (metric, cohort, prefecture, day, value)
SELECT metric, cohort, '*', day, sum(value) FROM daily_counters WHERE prefecture <> '*'
GROUP BY metric, cohort, day
ON CONFLICT (metric, cohort, prefecture, day) DO UPDATE SET value = excluded.value;

INSERT INTO monthly_counters (metric, cohort, prefecture, month, value)
SELECT metric, cohort, prefecture, date_trunc('month', day)::date, sum(value) FROM daily_counters
GROUP BY metric, cohort, prefecture, date_trunc('month', day)::date;
