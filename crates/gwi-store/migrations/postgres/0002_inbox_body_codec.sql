-- `body_codec` says how `body` is kept (0 = as received, 1 = LZ4 with the length prepended);
-- bodies stored before are codec 0. Compressed bodies are stored out of line as they are:
-- TOAST compressing them again would only cost CPU. (Updates of the other columns do not
-- rewrite an unchanged TOASTed body, so it stays in this table.)

ALTER TABLE inbox ADD COLUMN body_codec SMALLINT NOT NULL DEFAULT 0;

ALTER TABLE inbox ALTER COLUMN body SET STORAGE EXTERNAL;
