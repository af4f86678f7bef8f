CREATE TYPE color AS ENUM ('red', 'green');
CREATE TYPE size AS ENUM ('s', 'm', 'l');
CREATE TABLE shirts (id INT PRIMARY KEY, color color NOT NULL, size size, sizes size[]);
