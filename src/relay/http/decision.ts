import type { Request } from 'express'
import { bodyBytes, parseJson, requireMediaType } from './body.js'
import { problem } from './problem.js'

const COMMENT_MAX = 1000

/** `/steps/<n>/…`: the step's 1-based index. */
export function stepIndex(req: Request): number {
  const text = String(req.params.step)
  const n = Number(text)
  if (!/^[1-9][0-9]{0,3}$/.test(text)) {
    throw problem(
      'step-not-found',
      `"${text.slice(0, 20)}" is not a step number; use the approval's index, as GET /api/runs/<id> gives it.`,
    )
  }
  return n
}

/** The optional `{ "comment": "…" }` of an approval or a rejection; a form's `comment` field from the run page. */
export function decisionComment(req: Request): string | null {
  const raw = bodyBytes(req)
  if (raw.length === 0) return null
  const type = requireMediaType(req, ['application/json', 'application/x-www-form-urlencoded'])
  const comment =
    type === 'application/json'
      ? (parseJson(raw) as { comment?: unknown } | null)?.comment
      : new URLSearchParams(raw.toString('utf8')).get('comment')
  if (comment === undefined || comment === null || comment === '') return null
  if (typeof comment !== 'string' || comment.length > COMMENT_MAX) {
    throw problem(
      'invalid-decision',
      `"comment" must be text of at most ${COMMENT_MAX} characters.`,
      {
        extensions: { errors: [{ pointer: '/comment', detail: 'must be a string' }] },
      },
    )
  }
  return comment
}
