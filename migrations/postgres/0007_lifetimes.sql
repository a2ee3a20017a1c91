-- Default lifetimes of posts (PostgreSQL). Keep in step with ../sqlite/0007_lifetimes.sql.
-- A post expires at created_at + its own expires_in, else the community's default, else the
-- author's default; on expiry it is deleted here and everywhere it went.
ALTER TABLE accounts ADD COLUMN default_status_lifetime_secs BIGINT;
ALTER TABLE communities ADD COLUMN default_status_lifetime_secs BIGINT;
