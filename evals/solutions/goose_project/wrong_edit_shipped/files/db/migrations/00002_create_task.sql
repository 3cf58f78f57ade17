-- +goose Up
CREATE TABLE task (
    id       INTEGER PRIMARY KEY,
    note_id  INTEGER NOT NULL REFERENCES note (id) ON DELETE CASCADE,
    text     TEXT NOT NULL,
    done     INTEGER NOT NULL DEFAULT 0,
    due_date TEXT
);
CREATE INDEX task_note ON task (note_id);

-- +goose Down
DROP TABLE task;
