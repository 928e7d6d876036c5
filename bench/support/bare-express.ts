// The baseline of the ingest benchmark: Express 5 parsing the same JSON and answering 202, nothing else.
import express from 'express'

const app = express()
app.post('/hooks/dockerhub/:secret', express.json({ limit: '1mb' }), (req, res) => {
  res.status(202).json({ received: typeof req.body === 'object' })
})
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object')
    console.log(`listening on http://127.0.0.1:${address.port}"`)
})
