import { getErrorMessage } from '../../shared/errors.js'
import { loadSettings } from '../config/load.js'
import { ConfigError, formatConfigProblems } from '../config/problems.js'
import type { Settings } from '../config/settings.js'
import type { Environment } from '../config/substitute.js'

/** `--config`, else `$HOOKCHAIN_CONFIG`, else `./hookchain.yml`. */
export function configFileOf(option: string | undefined, env: Environment): string {
  return option ?? env.HOOKCHAIN_CONFIG ?? './hookchain.yml'
}

/** The settings of a config file; null once every problem in it has been printed to stderr. */
export function readConfig(configFile: string, env: Environment): Settings | null {
  try {
    return loadSettings(configFile, env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(formatConfigProblems(configFile, error.problems))
      console.error(
        `${configFile}: ${error.problems.length} problem(s); the relay does not start with this config.`,
      )
      return null
    }
    console.error(`hookchain-relay: cannot read ${configFile}: ${getErrorMessage(error)}`)
    return null
  }
}
