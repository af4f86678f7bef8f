-- Built-in types diesel provides, types it does not (defined in pub mod sql_types), arrays, lengths.
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE everything (
    id BIGSERIAL PRIMARY KEY,
    small SMALLINT NOT NULL,
    flag BOOLEAN,
    ratio DOUBLE PRECISION,
    single REAL,
    price NUMERIC(10, 2),
    cash MONEY,
    code CHAR(3) NOT NULL,
    label VARCHAR(40),
    free_text VARCHAR,
    blob BYTEA,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_time TIMESTAMP,
    day DATE,
    clock TIME,
    span INTERVAL,
    doc JSONB,
    raw_json JSON,
    uid UUID,
    addr INET,
    net CIDR,
    mac MACADDR,
    bits BIT(3),
    ints INT[] NOT NULL,
    names TEXT[],
    labels VARCHAR(20)[],
    moods mood[] NOT NULL,
    current_mood mood,
    search TSVECTOR,
    period INT4RANGE,
    location POINT
);
CREATE VIEW everything_view AS SELECT id FROM everything;
CREATE TABLE __internal_bookkeeping (id INT PRIMARY KEY);
