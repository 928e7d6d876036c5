import { readFileSync } from 'node:fs'

/** The version of the package this CLI came in (lib/relay/commands → package.json). */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

export const USAGE = `Usage:
  hookchain-relay serve [--config FILE] [--port N] [--host ADDRESS] [--database URL]
  hookchain-relay check [--config FILE]
  hookchain-relay init  [--config FILE] [--public-url URL] [--source NAME]... [--force]
  hookchain-relay --version | --help

Commands:
  serve   start the relay: take registry push events and run the chains they match
  check   validate a config file and print every problem in it, with its path
  init    write a starter config with freshly generated secrets, and print the webhook to
          set up in each registry

Options:
  --config FILE     the YAML config (default: $HOOKCHAIN_CONFIG or ./hookchain.yml)
  --port N          where to listen (default: $PORT or 8080)
  --host ADDRESS    the address to listen on (default: $HOST or 0.0.0.0)
  --database URL    sqlite:./data/hookchain.db (default, or $DATABASE_URL) or postgres://user@host/db
  --public-url URL  init: the address at which registries and steps reach the relay
  --source NAME     init: enable this registry only (repeat, or a comma list: dockerhub,github);
                    by default every one that needs no setting but a secret
  --force           init: replace the config file if it exists

Environment:
  LOG_LEVEL           fatal, error, warn, info (default), debug or trace
  LOG_FORMAT          json (one JSON line per entry) or pretty (readable lines); by default
                      pretty when stdout is a terminal, json otherwise
  HOOKCHAIN_LEASE_MS  how long a relay keeps the outbox jobs it claimed (default 30000)

SIGTERM or SIGINT stops the relay gracefully: it finishes the requests in flight, closes the
database and exits with 0.`
