-- What reporting.progress.v1 last said per key: a row is published again only when its
-- numbers change. Dropped with the schema by `make rebuild`, so a rebuild republishes all.
CREATE TABLE progress_published (
    year integer NOT NULL,
    metric text NOT NULL,
    division text NOT NULL,
    actual bigint NOT NULL,
    target bigint,
    PRIMARY KEY (year, metric, division)
);
