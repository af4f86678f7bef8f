CREATE TABLE authors (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
CREATE TABLE books (
    id INTEGER PRIMARY KEY NOT NULL,
    author_id INTEGER NOT NULL REFERENCES authors(id),
    editor_id INTEGER REFERENCES people,
    sequel_of INTEGER REFERENCES books(id)
);
CREATE TABLE people (id INTEGER PRIMARY KEY NOT NULL, mentor_id INTEGER REFERENCES people(id));
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY NOT NULL,
    book_id INTEGER NOT NULL REFERENCES books(id),
    reviewer_id INTEGER NOT NULL REFERENCES people(id),
    second_reviewer_id INTEGER REFERENCES people(id)
);
CREATE TABLE editions (
    book_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (book_id, number),
    FOREIGN KEY (book_id) REFERENCES books(id)
);
CREATE TABLE prints (
    id INTEGER PRIMARY KEY NOT NULL,
    book_id INTEGER NOT NULL,
    edition_number INTEGER NOT NULL,
    FOREIGN KEY (book_id, edition_number) REFERENCES editions(book_id, number)
);
CREATE TABLE tags (id INTEGER PRIMARY KEY NOT NULL, "type" INTEGER REFERENCES authors(id), label TEXT REFERENCES authors(name));
CREATE TABLE dangling (id INTEGER PRIMARY KEY NOT NULL, ghost_id INTEGER REFERENCES ghosts(id));
