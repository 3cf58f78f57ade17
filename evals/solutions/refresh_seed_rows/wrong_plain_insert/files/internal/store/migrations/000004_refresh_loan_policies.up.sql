-- 000004 refresh_loan_policies (up)
-- New defaults for the untouched built-in loan policies, and a new one.

UPDATE loan_policy SET loan_days = 21
WHERE id IS 1 AND name IS 'Standard' AND loan_days IS 14 AND renewals IS 2;

UPDATE loan_policy SET loan_days = 10
WHERE id IS 2 AND name IS 'Short loan' AND loan_days IS 7 AND renewals IS 0;

INSERT INTO loan_policy (id, name, loan_days, renewals) VALUES (4, 'Long loan', 42, 1);
