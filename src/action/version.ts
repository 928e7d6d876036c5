/**
 * The Action's version, sent in its user agent. Kept equal to package.json's by a test, and
 * not imported from it, so that editing package.json does not change the committed bundle.
 */
export const ACTION_VERSION = '0.1.0'

export const USER_AGENT = `hookchain-action/${ACTION_VERSION}`
