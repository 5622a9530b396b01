-- Column profiles (sluice-profile's encoded mergeable states) stored beside each table of a
-- version, as an object in the content-addressed store. NULL for tables added before profiles
-- existed; `sluice profile` computes and stores those on first use.
ALTER TABLE version_tables ADD COLUMN profile TEXT;
