-- 000005 nullable_preset_container (up)
-- Makes encoding_preset.container nullable: NULL means "keep the source
-- file's container". ALTER TABLE cannot drop a NOT NULL, so the table is
-- rebuilt: created under a temporary name, filled, swapped into place, its
-- index and trigger recreated.
-- The app does not enforce foreign keys (no _foreign_keys in the DSN), so
-- DROP TABLE leaves the rows of library and transcode_job alone; they
-- reference the name, which the new table takes over. The guard fails the
-- file if the rebuild leaves a reference dangling that was not before.

CREATE TEMP TABLE fk_before_000005 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

CREATE TABLE encoding_preset_next (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    container        TEXT    DEFAULT 'mkv',
    max_bitrate_kbps INTEGER CHECK (max_bitrate_kbps > 0),
    hw_accel         INTEGER NOT NULL DEFAULT 0 CHECK (hw_accel IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO encoding_preset_next
    (id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at)
SELECT id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at
FROM encoding_preset;

DROP TABLE encoding_preset;

ALTER TABLE encoding_preset_next RENAME TO encoding_preset;

CREATE UNIQUE INDEX idx_encoding_preset_name ON encoding_preset (name);

CREATE TRIGGER trg_encoding_preset_touch
AFTER UPDATE ON encoding_preset
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE encoding_preset SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TEMP TABLE fk_guard_000005 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000005
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000005 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.parent = v.parent
);
DROP TABLE temp.fk_guard_000005;
DROP TABLE temp.fk_before_000005;
