CREATE TABLE "type" (
    id INTEGER PRIMARY KEY NOT NULL,
    "fn" TEXT,
    "table" TEXT,
    "type" TEXT,
    "__hidden" TEXT,
    "__kept_" TEXT,
    "Self" TEXT
);
CREATE TABLE "order lines" (
    "line id" INTEGER PRIMARY KEY NOT NULL,
    "prix €" REAL,
    "a--b" TEXT,
    "_x_" TEXT,
    order_lines INTEGER,
    "SELF" TEXT
);
