-- 000003 refresh_builtin_presets (down)
-- Data only. Puts the two built-in presets back to their version-2 values,
-- but only rows that are still exactly at the values the up file wrote; a
-- preset the user changed afterwards keeps the user's values.

UPDATE encoding_preset
SET max_bitrate_kbps = 80000
WHERE id = 3
  AND name = 'Original'
  AND container = 'mkv'
  AND max_bitrate_kbps IS NULL
  AND hw_accel = 0;

UPDATE encoding_preset
SET name = 'Mobile 480p', max_bitrate_kbps = 1500
WHERE id = 1
  AND name = 'Mobile 720p'
  AND container = 'mp4'
  AND max_bitrate_kbps = 2500
  AND hw_accel = 0
  AND NOT EXISTS (SELECT 1 FROM encoding_preset WHERE name = 'Mobile 480p');
