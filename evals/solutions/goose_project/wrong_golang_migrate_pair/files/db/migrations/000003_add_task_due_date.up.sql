-- 000003 add_task_due_date (up)
ALTER TABLE task ADD COLUMN due_date TEXT;
