/**
 * Warnings an operator should act on, kept on the run (`status`, `runs`); dead letters of rows the
 * target refused (a constraint), with the PostgreSQL error, re-insertable by `dead-letters --retry`.
 */
export default `
ALTER TABLE tidemark.runs ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';

-- 'validate': the record failed mapping/validation and holds the source record;
-- 'write': the target refused the row (SQLSTATE class 23) and the record holds the target row by column name.
ALTER TABLE tidemark.dead_letters ADD COLUMN stage text NOT NULL DEFAULT 'validate' CHECK (stage IN ('validate', 'write'));
ALTER TABLE tidemark.dead_letters ADD COLUMN sqlstate text;
ALTER TABLE tidemark.dead_letters ADD COLUMN constraint_name text;
ALTER TABLE tidemark.dead_letters ADD COLUMN detail text;
`;
