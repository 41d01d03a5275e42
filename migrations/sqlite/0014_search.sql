-- Full-text search for the workspace, with SQLite's own index (FTS5): the
-- words of every part's text (body, attachments, letters: names,
-- addresses, what happened), and each case's reference, MP, constituency,
-- correspondent and subject. Both index tables keep no copy of the text
-- (external content); triggers keep them in step with the rows, retention's
-- deletes included. No stemming: names and references are matched as
-- written, accents aside.
CREATE VIRTUAL TABLE message_parts_search USING fts5(
    text, content = 'message_parts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_parts_search (message_parts_search) VALUES ('rebuild');
CREATE TRIGGER message_parts_search_insert AFTER INSERT ON message_parts BEGIN
    INSERT INTO message_parts_search (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER message_parts_search_delete AFTER DELETE ON message_parts BEGIN
    INSERT INTO message_parts_search (message_parts_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER message_parts_search_update AFTER UPDATE OF text ON message_parts BEGIN
    INSERT INTO message_parts_search (message_parts_search, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO message_parts_search (rowid, text) VALUES (new.id, new.text);
END;

CREATE VIRTUAL TABLE cases_search USING fts5(
    reference, mp_reference, mp_name, constituency, correspondent, subject,
    content = 'cases', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO cases_search (cases_search) VALUES ('rebuild');
CREATE TRIGGER cases_search_insert AFTER INSERT ON cases BEGIN
    INSERT INTO cases_search (rowid, reference, mp_reference, mp_name, constituency, correspondent, subject)
    VALUES (new.id, new.reference, new.mp_reference, new.mp_name, new.constituency, new.correspondent, new.subject);
END;
CREATE TRIGGER cases_search_delete AFTER DELETE ON cases BEGIN
    INSERT INTO cases_search (cases_search, rowid, reference, mp_reference, mp_name, constituency, correspondent, subject)
    VALUES ('delete', old.id, old.reference, old.mp_reference, old.mp_name, old.constituency, old.correspondent, old.subject);
END;
CREATE TRIGGER cases_search_update AFTER UPDATE OF reference, mp_reference, mp_name, constituency, correspondent, subject ON cases BEGIN
    INSERT INTO cases_search (cases_search, rowid, reference, mp_reference, mp_name, constituency, correspondent, subject)
    VALUES ('delete', old.id, old.reference, old.mp_reference, old.mp_name, old.constituency, old.correspondent, old.subject);
    INSERT INTO cases_search (rowid, reference, mp_reference, mp_name, constituency, correspondent, subject)
    VALUES (new.id, new.reference, new.mp_reference, new.mp_name, new.constituency, new.correspondent, new.subject);
END;
