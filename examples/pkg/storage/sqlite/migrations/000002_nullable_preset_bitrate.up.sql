-- 000002 nullable_preset_bitrate (up)
-- Makes encoding_preset.max_bitrate_kbps nullable (NULL = no bitrate cap).
-- SQLite's ALTER TABLE cannot drop a NOT NULL constraint, so the table is
-- rebuilt: create it under a temporary name, copy every row, drop the old
-- table, rename the new one into place, recreate its index and trigger, and
-- check foreign keys.
--
-- * golang-migrate runs this whole file in one transaction: no BEGIN/COMMIT
--   here, and PRAGMA foreign_keys would be a silent no-op. The app's DSN
--   leaves foreign-key enforcement off, so DROP TABLE does not touch the
--   child rows in library and transcode_job.
-- * The children reference "encoding_preset" by name; once the new table
--   is renamed into place they point at it again. (Renaming the OLD table
--   away first would rewrite the children to point at the dropped name.)
-- * Guard: violations that existed before (possible, since enforcement is
--   off) are recorded first; any NEW violation fails the CHECK below, which
--   fails the file and rolls it back.

CREATE TEMP TABLE fk_before_000002 AS
    SELECT "table" AS child_table, rowid AS child_rowid, fkid
    FROM pragma_foreign_key_check;

CREATE TABLE encoding_preset_new (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    container        TEXT    NOT NULL DEFAULT 'mkv',
    max_bitrate_kbps INTEGER CHECK (max_bitrate_kbps > 0),
    hw_accel         INTEGER NOT NULL DEFAULT 0 CHECK (hw_accel IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO encoding_preset_new
    (id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at)
SELECT id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at
FROM encoding_preset;

DROP TABLE encoding_preset;

ALTER TABLE encoding_preset_new RENAME TO encoding_preset;

-- Everything DROP TABLE removed along with the old table:
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
