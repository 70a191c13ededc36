-- Substring search without scanning every user: a trigram index over
-- admin_users.search_text (Postgres has pg_trgm for this), kept in step with
-- the table by triggers, so every write path, replay included, maintains it.
CREATE VIRTUAL TABLE admin_users_search USING fts5(
    search_text,
    content = 'admin_users',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

INSERT INTO admin_users_search (admin_users_search) VALUES ('rebuild');

CREATE TRIGGER admin_users_search_insert AFTER INSERT ON admin_users BEGIN
    INSERT INTO admin_users_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER admin_users_search_delete AFTER DELETE ON admin_users BEGIN
    INSERT INTO admin_users_search (admin_users_search, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER admin_users_search_update AFTER UPDATE OF search_text ON admin_users BEGIN
    INSERT INTO admin_users_search (admin_users_search, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO admin_users_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
