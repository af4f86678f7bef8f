CREATE TABLE plain (label TEXT);
CREATE TABLE shadows_rowid (rowid TEXT, label TEXT);
CREATE TABLE pk_not_null (code TEXT PRIMARY KEY NOT NULL, label TEXT);
CREATE TABLE pk_text (code TEXT PRIMARY KEY, label TEXT);
CREATE TABLE word_counts (word TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
CREATE TABLE pairs (b INTEGER, a INTEGER, note TEXT, PRIMARY KEY (b, a));
