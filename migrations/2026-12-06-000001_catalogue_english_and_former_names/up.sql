-- English requirements (persyaratan) where the catalogue has them; empty = not translated, and
-- the pages then show the Indonesian ones marked lang="id".
ALTER TABLE services ADD COLUMN requirements_en text[] NOT NULL DEFAULT '{}';
-- Names the service had before (IMB before PBG, SIUP/TDP before NIB): searchable like aliases,
-- and a result found through one says "dulu: IMB" / "formerly IMB".
ALTER TABLE services ADD COLUMN former_names text[] NOT NULL DEFAULT '{}';
