-- How far each incremental job has got, so a restarted `wattline jobs` carries on from there.
CREATE TABLE wattline_admin.job_watermarks (
    job         text PRIMARY KEY,
    upto        timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
