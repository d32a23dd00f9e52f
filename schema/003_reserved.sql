-- Placeholder: version 3 is another branch's migration. Delete this file
-- when that branch's 003_*.sql is merged (the migrator wants 1..n).
SELECT 1;
