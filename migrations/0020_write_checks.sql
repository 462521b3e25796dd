-- A write batch's leading checks (#19). A batch of events is one D1 round trip: the sender's
-- lookup and the quota are checked by statements at the head of the same batch, which insert a
-- row here only when the check fails — and the row breaks the named CHECK, so D1 rolls the whole
-- batch back and names the check in its error. The table never holds a row.
CREATE TABLE write_checks (
  caller  INTEGER CONSTRAINT caller CHECK (caller IS NULL),
  quota   INTEGER CONSTRAINT quota CHECK (quota IS NULL)
);
