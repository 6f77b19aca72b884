ALTER TABLE services DROP COLUMN former_names;
ALTER TABLE services DROP COLUMN requirements_en;
