-- 000004 refresh_loan_policies (down)
-- Puts the 000002 defaults back on the policies that still hold exactly
-- what the up wrote, and removes 'Long loan' if it is still as shipped.
-- LOSSY: a library that set a policy to exactly these new values by hand
-- gets the old ones back.

DELETE FROM loan_policy
WHERE id IS 4 AND name IS 'Long loan' AND loan_days IS 42 AND renewals IS 1;

UPDATE loan_policy SET loan_days = 14
WHERE id IS 1 AND name IS 'Standard' AND loan_days IS 21 AND renewals IS 2;

UPDATE loan_policy SET loan_days = 7
WHERE id IS 2 AND name IS 'Short loan' AND loan_days IS 10 AND renewals IS 0;
