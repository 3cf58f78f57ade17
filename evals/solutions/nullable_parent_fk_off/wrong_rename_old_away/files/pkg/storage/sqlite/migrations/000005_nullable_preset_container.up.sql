-- 000005 nullable_preset_container (up)
-- Makes encoding_preset.container nullable: move the old table aside,
-- create the new one, copy the rows, drop the old one.

ALTER TABLE encoding_preset RENAME TO encoding_preset_old;

CREATE TABLE encoding_preset (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    container        TEXT    DEFAULT 'mkv',
    max_bitrate_kbps INTEGER CHECK (max_bitrate_kbps > 0),
    hw_accel         INTEGER NOT NULL DEFAULT 0 CHECK (hw_accel IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

INSERT INTO encoding_preset
    (id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at)
SELECT id, name, container, max_bitrate_kbps, hw_accel, created_at, updated_at
FROM encoding_preset_old;

DROP TABLE encoding_preset_old;
