-- Inbox bodies move to their own table, so the updates a delivery goes through (lease, done,
-- failed) rewrite a small status row instead of a ~20 KB body. `codec` says how `body` is kept
-- (0 = as received, 1 = LZ4 with the length prepended); bodies stored before are codec 0.

CREATE TABLE inbox_bodies (
    id    INTEGER PRIMARY KEY NOT NULL,
    codec INTEGER NOT NULL,
    body  BLOB    NOT NULL
);

INSERT INTO inbox_bodies (id, codec, body) SELECT id, 0, body FROM inbox;

ALTER TABLE inbox DROP COLUMN body;
