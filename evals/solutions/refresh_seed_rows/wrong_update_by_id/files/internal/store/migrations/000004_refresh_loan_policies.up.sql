-- 000004 refresh_loan_policies (up)
-- New defaults for the built-in loan policies, and a new built-in one.

UPDATE loan_policy SET loan_days = 21 WHERE id = 1;
UPDATE loan_policy SET loan_days = 10 WHERE id = 2;

INSERT INTO loan_policy (id, name, loan_days, renewals) VALUES (4, 'Long loan', 42, 1)
ON CONFLICT DO NOTHING;
