CREATE SCHEMA money;
CREATE DOMAIN money.cents AS BIGINT CHECK (VALUE >= 0);
CREATE DOMAIN email AS TEXT CHECK (VALUE LIKE '%@%');
CREATE DOMAIN short_code AS VARCHAR(8);
CREATE TABLE invoices (id INT PRIMARY KEY, total money.cents NOT NULL, contact email, code short_code);
