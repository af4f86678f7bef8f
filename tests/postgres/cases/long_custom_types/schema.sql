-- Long type names and many derives: rustfmt wraps the derive list and postgres_type attributes.
CREATE SCHEMA reporting_and_analytics;
CREATE TYPE reporting_and_analytics.quarterly_revenue_recognition_status_for_enterprise_customers
    AS ENUM ('open', 'closed');
CREATE TYPE "Weird ""Type"" #1" AS ENUM ('x');
CREATE TABLE reporting_and_analytics.statements (
    id INT PRIMARY KEY,
    status reporting_and_analytics.quarterly_revenue_recognition_status_for_enterprise_customers NOT NULL,
    weird "Weird ""Type"" #1"
);
