import type { JSONSchemaType } from 'ajv'
import { requireBearer } from './bearer-auth.js'
import { checkRegistry, checkRepository, checkTag } from './image-reference.js'
import { optionalDigest } from './optional-fields.js'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { quoted, shown } from './reason-text.js'
import { secretSetting, stringSettings } from './settings-fields.js'
import type { Authentication, AuthRequest, Normalised, Source, SourceRequest } from './types.js'

/** The parts of an EventBridge event read here; `detail` is ECR's for `ECR Image Action`. */
interface EventBridgeEvent {
  id: string
  source: string
  'detail-type': string
  account?: string | null
  region?: string | null
  time?: string | null
  detail?: {
    'action-type'?: string | null
    result?: string | null
    'repository-name'?: string | null
    'image-tag'?: string | null
    'image-digest'?: string | null
  } | null
}

const text = { type: 'string', nullable: true, maxLength: 2048 } as const

const schema: JSONSchemaType<EventBridgeEvent> = {
  type: 'object',
  required: ['id', 'source', 'detail-type'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200 },
    source: { type: 'string', maxLength: 256 },
    'detail-type': { type: 'string', maxLength: 256 },
    account: text,
    region: text,
    time: text,
    detail: {
      type: 'object',
      nullable: true,
      required: [],
      properties: {
        'action-type': text,
        result: text,
        'repository-name': text,
        'image-tag': text,
        'image-digest': text,
      },
    },
  },
}

const format = payloadFormat('an EventBridge event', schema)

const ECR_SOURCE = 'aws.ecr'
const IMAGE_ACTION = 'ECR Image Action'
const ACCOUNT = /^[0-9]{12}$/
const REGION = /^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$/

/**
 * Amazon ECR, through an EventBridge rule whose target is an API destination. EventBridge gives
 * up on a target that takes over 5 s: like every source, this one reads the request and no more.
 */
export const ecr: Source<{ token: string }> = {
  name: 'ecr',
  title: 'Amazon ECR (EventBridge)',
  config: stringSettings(
    "Amazon ECR image pushes through an EventBridge rule and API destination: POST /hooks/ecr with `Authorization: Bearer <token>` (the connection's API key).",
    {
      token: secretSetting(
        'Token',
        'The token of the EventBridge connection\'s API key: name "Authorization", value "Bearer <token>".',
      ),
    },
    ({ token }) => ({ token }),
  ),
  pathSecret: false,
  contentTypes: [],

  authenticate(request: AuthRequest, secrets: { token: string }): Authentication {
    return requireBearer(request.headers, secrets.token, {
      missing:
        'the request has no Authorization header (or more than one): give the EventBridge connection an API key named "Authorization" with the value "Bearer <token>" and the token of sources.ecr.token',
      wrong:
        'the Authorization header is not "Bearer <token>" with the token of sources.ecr.token: set the API key value of the EventBridge connection to it',
    })
  },

  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/ecr`,
    headers: { Authorization: `Bearer ${token}` },
    notes: [
      `An EventBridge connection with API key authorization: key name Authorization, value "Bearer ${token}".`,
      'An API destination on that connection: this URL, method POST.',
      'A rule on the default event bus with the pattern {"source": ["aws.ecr"], "detail-type": ["ECR Image Action"], "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]}}, whose target is the API destination.',
    ],
  }),

  normalise(request: SourceRequest): Normalised {
    const event = format.read(request.body)
    // EventBridge sends the same event again, with the same id, when a delivery fails.
    const deliveryId = event.id
    const ignore = (reason: string): Normalised => ({ deliveryId, pushes: [], ignored: reason })
    if (event.source !== ECR_SOURCE) {
      return ignore(`EventBridge events from ${shown(event.source)} are not ECR events`)
    }
    if (event['detail-type'] !== IMAGE_ACTION) {
      return ignore(`ECR events of type ${quoted(event['detail-type'])} are not pushes`)
    }
    const detail = event.detail ?? format.reject('/detail', `is required for an ${IMAGE_ACTION}`)
    const action = detail['action-type'] ?? ''
    if (action !== 'PUSH') return ignore(`ECR ${shown(action)} actions are not pushes`)
    // AWS documents only SUCCESS: any other result is a push that did not complete.
    const result = detail.result ?? ''
    if (result !== 'SUCCESS')
      return ignore(`ECR push with result ${shown(result)} did not complete`)
    const tag = detail['image-tag']
    if (!tag) return ignore('image pushed by digest without a tag')
    return {
      deliveryId,
      ignored: null,
      pushes: [
        {
          source: 'ecr',
          registry: registryOf(event),
          repository: checkRepository(
            format,
            format.required(detail['repository-name'], '/detail/repository-name'),
            '/detail/repository-name',
          ),
          tag: checkTag(format, tag, '/detail/image-tag'),
          digest: optionalDigest(detail['image-digest']),
          pusher: null,
          pushedAt: isoTimestamp(event.time) ?? request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

/** `<account>.dkr.ecr.<region>.amazonaws.com`, `.amazonaws.com.cn` in the China regions. */
function registryOf(event: EventBridgeEvent): string {
  const account = format.required(event.account, '/account')
  if (!ACCOUNT.test(account)) {
    format.reject('/account', `must be an AWS account id (12 digits), not ${quoted(account)}`)
  }
  const region = format.required(event.region, '/region')
  if (!REGION.test(region)) {
    format.reject('/region', `must be an AWS region such as us-west-2, not ${quoted(region)}`)
  }
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'
  return checkRegistry(format, `${account}.dkr.ecr.${region}.${domain}`, '/region')
}
