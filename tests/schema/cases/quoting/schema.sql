CREATE TABLE "it's" (
    id INTEGER PRIMARY KEY NOT NULL,
    "say ""hi""" TEXT,
    "tag#1 ""x""" TEXT
);
