import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { getErrorMessage } from '../../shared/errors.js'
import { closestName } from '../config/closest-name.js'
import { ConfigError, parseSettings } from '../config/load.js'
import { starterConfig, starterNeeds } from '../config/starter-config.js'
import type { Environment } from '../config/substitute.js'
import { SOURCES } from '../sources/index.js'
import { type SourceWebhook, sourceWebhooks } from '../sources/webhook-setup.js'

export interface InitOptions {
  configFile: string
  force: boolean
  publicUrl?: string
  /** The sources to enable (`--source`); every one that needs only secrets when left out. */
  sources?: string[]
}

/**
 * `hookchain-relay init`: writes a starter config with fresh secrets (never over an existing file
 * without `force`), then prints the webhook to set up in each registry it enables.
 */
export function init(options: InitOptions, env: Environment): number {
  const { configFile } = options
  const refused = options.sources && refusedSources(options.sources)
  if (refused) {
    console.error(`hookchain-relay: --source ${refused}`)
    return 2
  }
  const starter = starterConfig({ publicUrl: options.publicUrl ?? null, sources: options.sources })
  try {
    parseSettings(starter.text, {
      env: {},
      baseDir: dirname(resolve(configFile)),
      file: configFile,
    })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const problem = error.problems.find((p) => p.path === 'public_url')
    if (!problem) throw error
    console.error(`hookchain-relay: --public-url ${problem.message}`)
    return 2
  }

  try {
    mkdirSync(dirname(resolve(configFile)), { recursive: true })
    // 0600: the file holds the secrets. `wx` fails rather than replace a file, even one that
    // appeared since any check.
    writeFileSync(configFile, starter.text, { flag: options.force ? 'w' : 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      console.error(
        `hookchain-relay: ${configFile} already exists; init does not replace it. Pass --force to overwrite it, or --config to write another file.`,
      )
      return 1
    }
    console.error(`hookchain-relay: cannot write ${configFile}: ${getErrorMessage(error)}`)
    return 1
  }

  const baseUrl = options.publicUrl ?? `http://localhost:${env.PORT || 8080}`
  const webhooks = sourceWebhooks(baseUrl, starter.sources, { masked: false })
  const lines = [
    `Wrote ${configFile}, with fresh secrets for admin_token and ${webhooks.length} source(s); only you can read it.`,
    `Check it with: hookchain-relay check --config ${configFile}`,
    `Start the relay with: hookchain-relay serve --config ${configFile}`,
    '',
    options.publicUrl
      ? 'Set up these webhooks in your registries:'
      : `Set up these webhooks in your registries. ${baseUrl} is reached from this machine only: for registries elsewhere, run init again with --public-url https://<the relay's public address> --force.`,
    ...webhooks.flatMap(describeWebhook),
  ]
  if (starter.leftOut.length > 0) {
    lines.push(
      '',
      `Not enabled, as they need settings of their own (see docs/registries/<name>.md): ${starter.leftOut
        .map((s) => `${s.source} (${s.needs.join(', ')})`)
        .join(', ')}.`,
    )
  }
  console.log(lines.join('\n'))
  return 0
}

/** Why init cannot enable the sources named, or null when it can. */
function refusedSources(names: string[]): string | null {
  for (const name of names) {
    const source = SOURCES.find((s) => s.name === name)
    if (!source) {
      const known = SOURCES.map((s) => s.name).join(', ')
      const close = closestName(
        name,
        SOURCES.map((s) => s.name),
      )
      return `"${name}" is not a source${close ? `; did you mean ${close}?` : ''} (sources: ${known})`
    }
    const needs = starterNeeds(source)
    if (needs.length > 0) {
      return `${name} needs ${needs.join(' and ')}, which init cannot guess: add sources.${name} to the config by hand (docs/registries/${name}.md)`
    }
  }
  return null
}

function describeWebhook({ source, title, setup }: SourceWebhook): string[] {
  return [
    '',
    `${title} (sources.${source}; docs/registries/${source}.md)`,
    `  URL:     ${setup.url}`,
    ...Object.entries(setup.headers).map(([name, value]) => `  Header:  ${name}: ${value}`),
    ...(setup.notes ?? []).map((note) => `  - ${note}`),
  ]
}
