// A stand-in for the services a chain's webhook steps call, for the README's quick start: it
// answers every delivery with 200 and prints the step's callback URL, where the step's result is
// to be reported. A real service would run its tests or its deployment, then POST the result there.
//
//   node examples/step-receiver.mjs [PORT]      (default 9000)
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? 9000)

createServer((request, response) => {
  let body = ''
  request.setEncoding('utf8')
  request.on('data', (chunk) => {
    body += chunk
  })
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    let delivery
    try {
      delivery = JSON.parse(body)
    } catch {
      console.log(`${request.method} ${request.url}: not JSON, ignored`)
      return
    }
    const { hookchain, callback_url: callbackUrl } = delivery
    console.log(
      `${hookchain?.image?.reference ?? 'an image'}: step ${hookchain?.step} of ${hookchain?.steps} of chain ${hookchain?.chain} (${request.url}) waits for its result.`,
    )
    console.log(`CALLBACK_URL=${callbackUrl}`)
  })
}).listen(port, () => console.log(`Waiting for webhook steps on http://localhost:${port}`))
