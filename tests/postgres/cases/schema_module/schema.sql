-- Tables of a non-public schema: pub mod app, schema-qualified names, types of both schemas.
CREATE SCHEMA app;
CREATE TYPE public_status AS ENUM ('on', 'off');
CREATE TYPE app.priority AS ENUM ('low', 'high');
CREATE TABLE public.accounts (id SERIAL PRIMARY KEY);
CREATE TABLE app.projects (id SERIAL PRIMARY KEY, owner_id INT NOT NULL REFERENCES public.accounts,
                           status public_status NOT NULL);
CREATE TABLE app.tasks (id SERIAL PRIMARY KEY, project_id INT NOT NULL REFERENCES app.projects,
                        priority app.priority, "type" TEXT NOT NULL);
CREATE TABLE app."type" (id INT PRIMARY KEY, task_id INT REFERENCES app.tasks);
CREATE TABLE app.a_rather_long_table_name_number_one (id INT PRIMARY KEY);
CREATE TABLE app.a_rather_long_table_name_number_two (id INT PRIMARY KEY);
COMMENT ON TABLE app.tasks IS 'Work to do';
