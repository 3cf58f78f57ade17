-- Removes customer.phone.
ALTER TABLE customer DROP COLUMN phone;
