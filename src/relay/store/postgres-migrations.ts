/**
 * Versioned schema changes for PostgreSQL, applied in order at start-up; never edit one that has
 * shipped. The same tables and indexes as the SQLite migrations. Ids and ISO 8601 timestamps are
 * compared and sorted as bytes (`COLLATE "C"`), as SQLite does, whatever the database's collation.
 */
export const postgresMigrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'events, runs, steps, tokens, callbacks, attempts, outbox',
    sql: `
      CREATE TABLE events (
        id TEXT COLLATE "C" PRIMARY KEY,
        source TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        received_at TEXT COLLATE "C" NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        content_type TEXT,
        payload TEXT NOT NULL,
        pushes TEXT NOT NULL,
        run_ids TEXT NOT NULL,
        UNIQUE (source, delivery_id)
      );
      CREATE TABLE runs (
        id TEXT COLLATE "C" PRIMARY KEY,
        event_id TEXT COLLATE "C" NOT NULL REFERENCES events(id),
        chain TEXT NOT NULL,
        source TEXT NOT NULL,
        repository TEXT NOT NULL,
        state TEXT NOT NULL,
        push TEXT NOT NULL,
        image TEXT NOT NULL,
        step_timeout_ms BIGINT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        finished_at TEXT COLLATE "C",
        version INTEGER NOT NULL
      );
      CREATE INDEX runs_by_chain ON runs (chain, id);
      CREATE INDEX runs_by_repository ON runs (repository, id);
      CREATE INDEX runs_by_state ON runs (state, id);
      CREATE INDEX runs_by_event ON runs (event_id);
      CREATE TABLE steps (
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        event_type TEXT,
        state TEXT NOT NULL,
        description TEXT,
        context TEXT,
        target_url TEXT,
        generation INTEGER NOT NULL,
        started_at TEXT COLLATE "C",
        dispatched_at TEXT COLLATE "C",
        finished_at TEXT COLLATE "C",
        deadline TEXT COLLATE "C",
        PRIMARY KEY (run_id, idx)
      );
      CREATE INDEX steps_by_deadline ON steps (deadline) WHERE deadline IS NOT NULL;
      CREATE TABLE tokens (
        hash TEXT COLLATE "C" PRIMARY KEY,
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        generation INTEGER NOT NULL
      );
      CREATE INDEX tokens_by_run ON tokens (run_id);
      CREATE TABLE callbacks (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        idx INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        received_at TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL,
        outcome TEXT NOT NULL
      );
      CREATE INDEX callbacks_by_run ON callbacks (run_id);
      CREATE TABLE attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        idx INTEGER,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        request TEXT,
        status INTEGER,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        started_at TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX attempts_by_run ON attempts (run_id);
      CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        idx INTEGER,
        generation INTEGER,
        due_at BIGINT NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        lease_owner TEXT,
        lease_until BIGINT
      );
      CREATE INDEX outbox_by_due ON outbox (due_at);
    `,
  },
  {
    version: 2,
    name: 'write slots shared by every relay of a database',
    sql: `CREATE TABLE write_slots (key TEXT COLLATE "C" PRIMARY KEY, next_at BIGINT NOT NULL);`,
  },
  {
    version: 3,
    name: 'refused callbacks past the kept ones, counted per step',
    sql: 'ALTER TABLE steps ADD COLUMN callbacks_dropped INTEGER NOT NULL DEFAULT 0;',
  },
  {
    version: 4,
    name: "parallel groups, approvals, on_failure steps, and a run's earlier attempts",
    sql: `
      ALTER TABLE steps ADD COLUMN phase TEXT NOT NULL DEFAULT 'main';
      ALTER TABLE steps ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE steps ADD COLUMN timeout_ms BIGINT;
      ALTER TABLE steps ADD COLUMN require_mode TEXT;
      ALTER TABLE steps ADD COLUMN decision TEXT;
      ALTER TABLE steps DROP CONSTRAINT steps_pkey;
      ALTER TABLE steps ADD PRIMARY KEY (run_id, phase, idx, branch);
      ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE tokens ADD COLUMN phase TEXT NOT NULL DEFAULT 'main';
      ALTER TABLE tokens ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE callbacks ADD COLUMN run_attempt INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE callbacks ADD COLUMN phase TEXT NOT NULL DEFAULT 'main';
      ALTER TABLE callbacks ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE attempts ADD COLUMN run_attempt INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE attempts ADD COLUMN phase TEXT NOT NULL DEFAULT 'main';
      ALTER TABLE attempts ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE outbox ADD COLUMN phase TEXT NOT NULL DEFAULT 'main';
      ALTER TABLE outbox ADD COLUMN branch INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE outbox ADD COLUMN args TEXT;
      CREATE TABLE run_attempts (
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        attempt INTEGER NOT NULL,
        state TEXT NOT NULL,
        started_at TEXT COLLATE "C" NOT NULL,
        finished_at TEXT COLLATE "C",
        steps TEXT NOT NULL,
        PRIMARY KEY (run_id, attempt)
      );
      CREATE INDEX runs_by_chain_repository ON runs (chain, repository, state, id);
    `,
  },
  {
    version: 5,
    name: 'repeated deliveries of an event, counted',
    sql: `
      ALTER TABLE events ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE events ADD COLUMN last_duplicate_at TEXT COLLATE "C";
    `,
  },
  {
    version: 6,
    name: 'runs started from workflows: source commit, origin, notes, and run tokens',
    sql: `
      ALTER TABLE runs ADD COLUMN source_commit TEXT;
      ALTER TABLE runs ADD COLUMN origin TEXT;
      ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
      CREATE TABLE run_tokens (
        hash TEXT COLLATE "C" PRIMARY KEY,
        run_id TEXT COLLATE "C" NOT NULL REFERENCES runs(id),
        created_at TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX run_tokens_by_run ON run_tokens (run_id);
    `,
  },
  {
    version: 7,
    // on_failure's previous image looks only at runs that succeeded: a partial index is not
    // written when a run is inserted (running), only when one ends as success.
    name: "the last success of a chain's repository, indexed for successful runs only",
    sql: `
      DROP INDEX runs_by_chain_repository;
      CREATE INDEX runs_succeeded ON runs (chain, repository, id) WHERE state = 'success';
    `,
  },
  {
    version: 8,
    // Generated, so that relays of version 7 still running during an upgrade fill it too. A
    // search by image reads it rather than the JSON: faster, and PostgreSQL keeps statistics of a
    // column (not of an expression) to choose between walking back through the newest runs and
    // reading them all.
    name: "each run's image reference, lower-cased, in a column of its own for searches",
    sql: `
      ALTER TABLE runs ADD COLUMN reference_lower TEXT GENERATED ALWAYS AS (lower(image::json ->> 'reference')) STORED;
      ANALYZE runs;
    `,
  },
]
