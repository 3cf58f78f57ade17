-- 000003 add_task_due_date (down)
ALTER TABLE task DROP COLUMN due_date;
