-- The sequencer lease needs progress (docs/postgres.md, "One sequencer at
-- a time"): the holder renews `expires` (the database's clock) from its
-- own connection; a standby takes over once it has passed, or once the
-- holder's lease session (`backend_pid`, `backend_start`) has ended, by
-- incrementing `epoch`, which fences the old holder's commits. Writers
-- read the row FOR KEY SHARE, which a renewal (an UPDATE of non-key
-- columns) does not wait for and a take-over (FOR UPDATE) does.
ALTER TABLE el_lease
    ADD COLUMN expires timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN backend_pid int,
    ADD COLUMN backend_start timestamptz;
