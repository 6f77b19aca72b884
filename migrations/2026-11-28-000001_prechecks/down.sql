DROP TABLE prechecks;
