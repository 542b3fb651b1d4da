'use strict';
/*
 * receiver.js - the hand-written Node.js webhook receiver hookgate's benchmark
 * compares against: fastify + ioredis, TruTac only.
 *
 *   POST /webhooks/trutac  verify `TT-Hook-Signature: sha1=<hex>` (HMAC-SHA1 of the
 *                          raw body, constant-time compare), XADD the body to the
 *                          stream, answer 200 {"status":"accepted","id":"<entry id>"}
 *                          after Redis confirmed; 401 on a bad signature, 503 when
 *                          Redis fails
 *   GET  /healthz          200 {"status":"ok"}
 *
 * It does less than hookgate on purpose (no JSON parse, no envelope, no dedup, no
 * freshness), so it is the strongest simple baseline. ioredis runs with
 * enableAutoPipelining, so concurrent XADDs of one process share round trips.
 *
 * Two processes: node's cluster module forks WORKERS (default 2) workers that share
 * the listening port; the primary only accepts connections and hands them to the
 * workers round-robin (keep-alive connections stay on one worker), so it is idle
 * under a keep-alive load.
 *
 * Environment: PORT, HOST (127.0.0.1), REDIS_PORT, REDIS_HOST (127.0.0.1),
 * TRUTAC_SECRET, STREAM (node:{trutac}), WORKERS (2).
 */
const cluster = require('node:cluster');
const crypto = require('node:crypto');

const PORT = parseInt(process.env.PORT || '3000', 10);
const HOST = process.env.HOST || '127.0.0.1';
const WORKERS = parseInt(process.env.WORKERS || '2', 10);

if (cluster.isPrimary) {
  let stopping = false;
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`receiver: worker ${worker.process.pid} died (${signal || code})`);
      process.exit(1);
    }
  });
  const stop = () => {
    stopping = true;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const Fastify = require('fastify');
  const Redis = require('ioredis');

  const secret = process.env.TRUTAC_SECRET;
  if (!secret) {
    console.error('receiver: TRUTAC_SECRET is not set');
    process.exit(2);
  }
  const stream = process.env.STREAM || 'node:{trutac}';
  const redis = new Redis({
    host: process.env.REDIS_HOST || '127.0.0.1',
    port: parseInt(process.env.REDIS_PORT || '6379', 10),
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
  });
  const app = Fastify({ logger: false, bodyLimit: 1048576 });

  // Keep the raw bytes: the signature is over the body exactly as sent.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    done(null, body);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/webhooks/trutac', async (req, reply) => {
    const body = req.body;
    const sig = req.headers['tt-hook-signature'];
    if (!Buffer.isBuffer(body) || typeof sig !== 'string' || !sig.startsWith('sha1=')) {
      reply.code(401);
      return { error: 'unauthorized', message: 'missing or malformed signature' };
    }
    const expected = crypto.createHmac('sha1', secret).update(body).digest();
    const given = Buffer.from(sig.slice(5), 'hex');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      reply.code(401);
      return { error: 'unauthorized', message: 'signature does not match' };
    }
    try {
      const id = await redis.xadd(stream, '*', 'event', body);
      return { status: 'accepted', id };
    } catch (err) {
      reply.code(503);
      return { error: 'unavailable', message: String(err.message || err) };
    }
  });

  const stop = () => {
    app.close().finally(() => redis.quit().finally(() => process.exit(0)));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  app.listen({ host: HOST, port: PORT }).catch((err) => {
    console.error(`receiver: ${err.message}`);
    process.exit(1);
  });
}
