-- Full-text search for the workspace, with PostgreSQL's own index
-- (tsvector and GIN): the words of every part's text (body, attachments,
-- letters: names, addresses, what happened), and each case's reference,
-- MP, constituency, correspondent and subject. Words are runs of letters
-- and digits, as SQLite's unicode61 tokenizer reads them (so "ME/26/0412"
-- is three words on both backends); the 'simple' configuration, without
-- stemming, so names and references are matched as written. A part's
-- first 100,000 characters are indexed (a tsvector holds at most 1 MB).
ALTER TABLE message_parts ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple',
        regexp_replace(left(coalesce("text", ''), 100000), '[^[:alnum:]]+', ' ', 'g'))) STORED;
CREATE INDEX message_parts_search ON message_parts USING gin (search);

ALTER TABLE cases ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(
        reference || ' ' || coalesce(mp_reference, '') || ' ' || coalesce(mp_name, '') || ' ' ||
        coalesce(constituency, '') || ' ' || correspondent || ' ' || subject,
        '[^[:alnum:]]+', ' ', 'g'))) STORED;
CREATE INDEX cases_search ON cases USING gin (search);
