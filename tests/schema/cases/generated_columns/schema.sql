CREATE TABLE boxes (
    id INTEGER PRIMARY KEY NOT NULL,
    width REAL NOT NULL,
    height REAL NOT NULL,
    area REAL GENERATED ALWAYS AS (width * height) STORED,
    label TEXT AS ('box ' || id) VIRTUAL,
    boxes INTEGER AS (id * 2) NOT NULL,
    untyped AS (NULL)
);
