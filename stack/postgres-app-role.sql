-- docker-compose's PostgreSQL runs this once, when it initialises its data directory: the
-- role leadsync's processes log in as (LEADSYNC_DATABASE_APP_PASSWORD). No superuser, no
-- BYPASSRLS: row-level security holds for it. The migrations grant it its rights.
-- (stack/postgres.sh does the same for the local stack.)
CREATE ROLE leadsync_app LOGIN PASSWORD 'leadsync_app' NOSUPERUSER NOBYPASSRLS;
