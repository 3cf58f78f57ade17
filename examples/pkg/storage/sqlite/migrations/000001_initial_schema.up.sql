-- 000001 initial_schema (up)
-- Creates the base mediaz schema: encoding presets, libraries, media items
-- and transcode jobs, with their indexes and updated_at triggers, and seeds
-- the three built-in encoding presets. Databases created before migrations
-- existed already have exactly this schema and are baselined to version 1
-- (see migrate.go) instead of running this file.

CREATE TABLE encoding_preset (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL,
    container        TEXT    NOT NULL DEFAULT 'mkv',
    max_bitrate_kbps INTEGER NOT NULL CHECK (max_bitrate_kbps > 0),
    hw_accel         INTEGER NOT NULL DEFAULT 0 CHECK (hw_accel IN (0, 1)),
    created_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX idx_encoding_preset_name ON encoding_preset (name);

-- Keep updated_at current unless the statement sets it itself.
CREATE TRIGGER trg_encoding_preset_touch
AFTER UPDATE ON encoding_preset
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE encoding_preset SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TABLE library (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    root_path         TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('movie', 'series', 'music')),
    default_preset_id INTEGER REFERENCES encoding_preset (id) ON DELETE SET NULL,
    created_at        TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX idx_library_root_path ON library (root_path);
CREATE INDEX idx_library_default_preset ON library (default_preset_id);

CREATE TABLE media_item (
    id           INTEGER PRIMARY KEY,
    library_id   INTEGER NOT NULL REFERENCES library (id) ON DELETE CASCADE,
    title        TEXT    NOT NULL,
    release_year INTEGER,
    file_path    TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL DEFAULT 0,
    added_at     TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE UNIQUE INDEX idx_media_item_file_path ON media_item (file_path);
CREATE INDEX idx_media_item_library_title ON media_item (library_id, title);

CREATE TRIGGER trg_media_item_touch
AFTER UPDATE ON media_item
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE media_item SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
END;

CREATE TABLE transcode_job (
    id            INTEGER PRIMARY KEY,
    media_item_id INTEGER NOT NULL REFERENCES media_item (id) ON DELETE CASCADE,
    preset_id     INTEGER NOT NULL REFERENCES encoding_preset (id),
    state         TEXT    NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'failed')),
    progress_pct  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    finished_at   TEXT
);

CREATE INDEX idx_transcode_job_media_item ON transcode_job (media_item_id);
CREATE INDEX idx_transcode_job_preset ON transcode_job (preset_id);
-- Partial index: the worker only ever scans jobs that still need work.
CREATE INDEX idx_transcode_job_pending ON transcode_job (created_at)
    WHERE state IN ('queued', 'running');

-- Built-in presets. OR IGNORE keeps a retry of this file harmless.
INSERT OR IGNORE INTO encoding_preset (id, name, container, max_bitrate_kbps, hw_accel) VALUES
    (1, 'Mobile 480p', 'mp4', 1500, 0),
    (2, 'HD 1080p', 'mkv', 8000, 0),
    (3, 'Original', 'mkv', 80000, 0);
