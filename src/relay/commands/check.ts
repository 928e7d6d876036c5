import type { Environment } from '../config/substitute.js'
import { settingsWarnings } from '../config/warnings.js'
import { readConfig } from './config-file.js'

/** `hookchain-relay check`: 0 for a config the relay starts with, 1 with every problem printed. */
export function check(configFile: string, env: Environment): number {
  const settings = readConfig(configFile, env)
  if (settings === null) return 1
  for (const warning of settingsWarnings(settings))
    console.log(`${configFile}: warning: ${warning}`)
  const sources = Object.keys(settings.sources).join(', ') || 'none'
  console.log(`${configFile}: OK (${settings.chains.length} chain(s), sources: ${sources})`)
  return 0
}
