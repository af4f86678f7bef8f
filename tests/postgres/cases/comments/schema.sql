-- Comments become doc comments; tables and columns without one fall back to diesel's text.
CREATE TABLE notes (
    id SERIAL PRIMARY KEY,
    body TEXT NOT NULL,
    author TEXT
);
COMMENT ON TABLE notes IS E'Notes people write.\n\n  Indented second paragraph.  \n';
COMMENT ON COLUMN notes.body IS E'Markdown text\r\nof the note';
COMMENT ON COLUMN notes.author IS '   ';
CREATE TABLE tags (name TEXT PRIMARY KEY);
