-- Which foreign keys become joinable!: one column, to the parent's single-column primary key,
-- the only relation between the two tables, both tables printed, not self-referencing.
CREATE TABLE people (id INT PRIMARY KEY, email TEXT UNIQUE NOT NULL, mentor_id INT REFERENCES people);
CREATE TABLE letters (id INT PRIMARY KEY,
                      sender_id INT NOT NULL REFERENCES people,
                      receiver_id INT NOT NULL REFERENCES people);
CREATE TABLE profiles (id INT PRIMARY KEY, person_id INT NOT NULL REFERENCES people);
CREATE TABLE by_email (id INT PRIMARY KEY, email TEXT REFERENCES people (email));
CREATE TABLE pairs (a INT, b INT, PRIMARY KEY (a, b));
CREATE TABLE pair_notes (id INT PRIMARY KEY, a INT, b INT, FOREIGN KEY (a, b) REFERENCES pairs);
CREATE TABLE hidden (id INT PRIMARY KEY);
CREATE TABLE points_to_hidden (id INT PRIMARY KEY, hidden_id INT REFERENCES hidden);
CREATE TABLE events (id INT, happened DATE NOT NULL, person_id INT REFERENCES people,
                     PRIMARY KEY (id, happened)) PARTITION BY RANGE (happened);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
