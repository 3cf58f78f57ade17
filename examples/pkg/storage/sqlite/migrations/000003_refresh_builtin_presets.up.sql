-- 000003 refresh_builtin_presets (up)
-- Data only, no schema change. Updates two built-in presets, but only in
-- rows the user has not modified: every original value is matched exactly,
-- so a preset whose name, container, bitrate or hw_accel was edited is left
-- alone.
--   id 3 'Original': 80000 kbps cap -> no cap (NULL, allowed since 000002)
--   id 1 'Mobile 480p' 1500 kbps -> 'Mobile 720p' 2500 kbps, skipped if the
--        user already has a preset named 'Mobile 720p' (name is unique)

UPDATE encoding_preset
SET max_bitrate_kbps = NULL
WHERE id = 3
  AND name = 'Original'
  AND container = 'mkv'
  AND max_bitrate_kbps = 80000
  AND hw_accel = 0;

UPDATE encoding_preset
SET name = 'Mobile 720p', max_bitrate_kbps = 2500
WHERE id = 1
  AND name = 'Mobile 480p'
  AND container = 'mp4'
  AND max_bitrate_kbps = 1500
  AND hw_accel = 0
  AND NOT EXISTS (SELECT 1 FROM encoding_preset WHERE name = 'Mobile 720p');
