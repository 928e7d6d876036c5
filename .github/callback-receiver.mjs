// A stand-in for the relay's POST /callbacks/<token>, for the CI job that runs the Action with
// `uses: ./`. It appends every callback to callbacks.jsonl and answers like the relay:
// 200 with the run's state, or 404 problem+json for the token "expired".
//   node .github/callback-receiver.mjs 8765 &
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 8765)

createServer((request, response) => {
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk) => {
    body += chunk
  })
  request.on('end', () => {
    if (request.method !== 'POST') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('callback receiver\n')
      return
    }
    appendFileSync(
      'callbacks.jsonl',
      `${JSON.stringify({ path: request.url, body: JSON.parse(body) })}\n`,
    )
    if (request.url === '/callbacks/expired') {
      response.writeHead(404, { 'content-type': 'application/problem+json' })
      response.end(
        JSON.stringify({
          title: 'Not Found',
          status: 404,
          detail: 'Unknown or expired callback token',
        }),
      )
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ run: { state: 'running' }, step: { index: 1 } }))
  })
}).listen(port, '127.0.0.1', () => console.log(`callback receiver on http://127.0.0.1:${port}`))
