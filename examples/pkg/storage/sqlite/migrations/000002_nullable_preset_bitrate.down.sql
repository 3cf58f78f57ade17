-- 000002 nullable_preset_bitrate (down)
-- Restores encoding_preset exactly as version 1 defined it
-- (max_bitrate_kbps NOT NULL) with the same rebuild steps as the up file:
-- temporary name, explicit column copy, drop, rename into place, recreate
-- the index and trigger, foreign-key guard. No BEGIN/COMMIT and no
-- PRAGMA foreign_keys: golang-migrate already wraps the file in a
-- transaction and the app runs with enforcement off.
--
-- FALLBACK: a preset with no cap (NULL) cannot be stored in version 1. It
-- gets 80000 kbps, the highest built-in cap (the v1 "Original" preset), so
-- it stays the least restrictive preset. Every row is kept.

CREATE TEMP TABLE fk_before_000002 AS
    SELECT "table" AS child_table, rowid AS child_rowid, fkid
    FROM pragma_foreign_key_check;

CREATE TABLE encoding_preset_old (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    container        TEXT    NOT NULL DEFAULT 'mkv',
    max_bitrate_kbps INTEGER NOT NULL CHECK (max_bitrate_kbps > 0),
    hw_accel         INTEGER NOT NULL DEFAULT 0 CHECK (hw_accel IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO encoding_preset_old
    (id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at)
SELECT id, name, container, COALESCE(max_bitrate_kbps, 80000), hw_accel,
       created_at, updated_at
FROM encoding_preset;

DROP TABLE encoding_preset;

ALTER TABLE encoding_preset_old RENAME TO encoding_preset;

CREATE UNIQUE INDEX idx_encoding_preset_name ON encoding_preset (name);

CREATE TRIGGER trg_encoding_preset_touch
AFTER UPDATE ON encoding_preset
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE encoding_preset SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TEMP TABLE fk_guard_000002 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000002
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000002 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.fkid = v.fkid
);
DROP TABLE temp.fk_guard_000002;
DROP TABLE temp.fk_before_000002;
